"""Vector-quantised VAE (van den Oord, Vinyals & Kavukcuoglu 2017, "Neural Discrete Representation
Learning").

The encoder's output z_e(x) (a map of D-vectors) is replaced by its nearest codebook entry,
z_q = e_k, k = argmin_j ‖z_e − e_j‖₂ (eq. 1–2); the posterior q(z = k | x) is one-hot. The
decoder p(x | z_q) is trained through the quantiser by the straight-through estimator (the
gradient ∇_{z_q} L is copied to z_e). The loss (eq. 3):

    L = −log p(x | z_q(x)) + ‖sg[z_e(x)] − e‖₂² + β ‖z_e(x) − sg[e]‖₂²,     β = 0.25,

squared norms summed over every position of the map, everything averaged over the batch. With
``ema`` the codebook term is dropped and the codebook follows exponential moving averages
(appendix A.1, decay γ = 0.99): N_k ← γN_k + (1 − γ) n_k, m_k ← γ m_k + (1 − γ) Σ_{i: k_i = k} z_e,i,
e_k = m_k / N_k (with Laplace smoothing of N).

Prior: p(k) over code maps is uniform while the VQ-VAE trains; the paper then fits an
autoregressive prior (PixelCNN / WaveNet) to the code maps of the training data so that sampling
k ~ p(k), x ~ p(x | e_k) draws new data. genzoo's prior is a small autoregressive GRU over the
raster-ordered map, p(k) = Π_l p(k_l | k_<l), trained on the detached codes of each batch from
step ``prior_start`` on (so `sample` draws from a fitted prior in any run); :meth:`fit_prior`
refits it afterwards on given data, the paper's order.

Bound: q is one-hot, so log p(x) ≥ log p(k(x)) + log p(x | e_{k(x)}) (one term of the sum over
codes); ``elbo`` reports it with the fitted prior, ``rate`` = −log p(k(x)) and
``distortion`` = −log p(x | e_{k(x)}).

Defaults vs the paper: K = 512, D = 64, β = 0.25 as in the paper; the codebook starts at random
encoder outputs of the first batch (genzoo's choice: a codebook initialised away from z_e
leaves most codes unused); the networks are smaller
(two stride-2 convs, one residual block of ``width`` channels; points: MLPs and a single code).
Logged: ``perplexity`` exp(H(code usage)) and ``usage`` (share of codes used in the batch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genzoo.config import at_least, nonnegative, open_unit_interval, option, positive
from genzoo.models.base import DataSpec, Model, register_model
from genzoo.models.vae import VAEConfig, make_observation, resolve_vae
from genzoo.nn.mlp import MLP
from genzoo.nn.vae_nets import ConvMapDecoder, ConvMapEncoder
from genzoo.optim import adam, descend


@dataclass
class VQVAEConfig(VAEConfig):
    codes: int = option(512, at_least(2), "K, codebook size")
    code_dim: int = option(64, at_least(1), "D, size of each code vector")
    commitment: float = option(0.25, nonnegative, "β, weight of the commitment loss")
    ema: bool = option(False, None, "update the codebook by exponential moving averages instead of its loss")
    ema_decay: float = option(0.99, open_unit_interval, "γ of the moving averages (ema=true)")
    downsample: int = option(2, at_least(0), "stride-2 convs (2: 28×28 → 7×7 code map)")
    prior_hidden: int = option(128, at_least(1), "GRU width of the autoregressive prior")
    prior_lr: float = option(1e-3, positive, "Adam learning rate of the prior")
    prior_start: int = option(0, at_least(0), "first step at which the prior trains on the codes")
    sample_mean: bool = option(True, None, "sample() returns the decoder mean of the sampled codes (the paper shows means)")


class VectorQuantizer(nn.Module):
    """Nearest-neighbour quantisation of (N, L, D) vectors against a K × D codebook, straight-through."""

    def __init__(self, codes: int, dim: int, ema: bool = False, decay: float = 0.99, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        init = (torch.rand(codes, dim, generator=g) * 2 - 1) / codes
        self.ema, self.decay = ema, decay
        if ema:
            init = torch.randn(codes, dim, generator=g)
            self.register_buffer("codebook", init)
            self.register_buffer("cluster_size", torch.zeros(codes))
            self.register_buffer("embed_sum", init.clone())
        else:
            self.codebook = nn.Parameter(init)

    def nearest(self, z_e: Tensor) -> Tensor:
        """k = argmin_j ‖z_e − e_j‖², (N, L)."""
        e = self.codebook
        d = (z_e.pow(2).sum(-1, keepdim=True) - 2 * z_e @ e.T + e.pow(2).sum(-1))
        return d.argmin(-1)

    def forward(self, z_e: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(z_q with straight-through gradient, codes k, codebook loss, commitment loss); losses per example."""
        k = self.nearest(z_e.detach())
        e = self.codebook[k]
        if self.ema and self.training:
            self.ema_update(z_e.detach(), k)
            e = self.codebook[k]
        codebook_loss = (z_e.detach() - e).pow(2).sum((1, 2)) if not self.ema else z_e.new_zeros(z_e.shape[0])
        commitment = (z_e - e.detach()).pow(2).sum((1, 2))
        z_q = z_e + (e - z_e).detach()  # straight-through: forward e, backward identity to z_e
        return z_q, k, codebook_loss, commitment

    @torch.no_grad()
    def init_from(self, z_e: Tensor) -> None:
        """Set the codebook to randomly chosen encoder outputs (a data-dependent start; an untouched
        codebook far from z_e leaves all but one code dead)."""
        flat = z_e.reshape(-1, z_e.shape[-1])
        idx = torch.randint(0, flat.shape[0], (self.codebook.shape[0],), device=flat.device)
        self.codebook.data.copy_(flat[idx] + 0.01 * flat.std() * torch.randn_like(flat[idx]))
        if self.ema:
            self.embed_sum.copy_(self.codebook)
            self.cluster_size.fill_(1.0)

    @torch.no_grad()
    def ema_update(self, z_e: Tensor, k: Tensor) -> None:
        onehot = F.one_hot(k.reshape(-1), self.codebook.shape[0]).to(z_e.dtype)
        flat = z_e.reshape(-1, z_e.shape[-1])
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(onehot.T @ flat, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + 1e-5) / (n + self.codebook.shape[0] * 1e-5) * n  # Laplace smoothing
        self.codebook.copy_(self.embed_sum / smoothed.unsqueeze(1))


class CodePrior(nn.Module):
    """p(k) = Π_l p(k_l | k_<l) over raster-ordered code maps: embedding → GRU → softmax over K."""

    def __init__(self, codes: int, length: int, hidden: int = 128) -> None:
        super().__init__()
        self.codes, self.length = codes, length
        self.embed = nn.Embedding(codes + 1, hidden)  # index K is the start token
        self.rnn = nn.GRU(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, codes)

    def logits(self, k: Tensor) -> Tensor:
        start = torch.full((k.shape[0], 1), self.codes, dtype=torch.long, device=k.device)
        h, _ = self.rnn(self.embed(torch.cat([start, k[:, :-1]], 1)))
        return self.out(h)

    def log_prob(self, k: Tensor) -> Tensor:
        """log p(k) for codes (N, L) → (N,)."""
        return -F.cross_entropy(self.logits(k).transpose(1, 2), k, reduction="none").sum(-1)

    @torch.no_grad()
    def sample(self, n: int, device: torch.device) -> Tensor:
        tok = torch.full((n, 1), self.codes, dtype=torch.long, device=device)
        state = None
        out = []
        for _ in range(self.length):
            h, state = self.rnn(self.embed(tok), state)
            tok = torch.distributions.Categorical(logits=self.out(h[:, -1])).sample().unsqueeze(1)
            out.append(tok)
        return torch.cat(out, 1)


@register_model("vqvae")
class VQVAE(Model):
    """VQ-VAE (van den Oord et al. 2017): nearest-code quantisation, straight-through, β = 0.25, EMA option, fitted autoregressive prior."""

    Config = VQVAEConfig
    contract_overrides = {"codes": 8, "code_dim": 4, "width": 8, "hidden": 32, "prior_hidden": 8}

    def __init__(self, config: VQVAEConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        resolve_vae(config, data)
        self.obs = make_observation(config, data)
        c = config
        if c.arch == "conv":
            self.encoder = ConvMapEncoder(data.shape, c.code_dim, c.width, c.downsample, c.activation)  # type: ignore[arg-type]
            self.decoder = ConvMapDecoder(c.code_dim, data.shape, self.obs.n_params * data.shape[0], c.width, c.downsample, c.activation)  # type: ignore[arg-type]
            with torch.no_grad():
                self.map_shape = tuple(self.encoder(torch.zeros(1, *data.shape)).shape[2:])
        else:
            self.encoder = MLP(data.dim, c.code_dim, c.hidden, c.depth, c.activation)
            self.decoder = MLP(c.code_dim, self.obs.n_params * data.dim, c.hidden, c.depth, c.activation)
            self.map_shape = (1,)
        self.length = math.prod(self.map_shape)
        self.quantizer = VectorQuantizer(c.codes, c.code_dim, c.ema, c.ema_decay)
        self.prior = CodePrior(c.codes, self.length, c.prior_hidden)
        vq_params = [p for n, p in self.named_parameters() if not n.startswith("prior.")]
        self.opt = adam(vq_params, lr=c.lr, betas=(c.beta1, c.beta2))
        self.opt_prior = adam(self.prior.parameters(), lr=c.prior_lr)
        self.register_buffer("iteration", torch.zeros((), dtype=torch.long))

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"vqvae": self.opt, "prior": self.opt_prior}

    # ---- maps between (N, D, *map) and (N, L, D) -------------------------------------------------
    def _to_seq(self, h: Tensor) -> Tensor:
        return h.flatten(2).transpose(1, 2) if h.ndim > 2 else h.unsqueeze(1)

    def _to_map(self, z: Tensor) -> Tensor:
        if self.config.arch == "conv":
            return z.transpose(1, 2).reshape(z.shape[0], -1, *self.map_shape)
        return z.squeeze(1)

    def z_e(self, x: Tensor) -> Tensor:
        """Encoder output as (N, L, D)."""
        return self._to_seq(self.encoder(x))

    def codes_of(self, x: Tensor) -> Tensor:
        """k(x), (N, L)."""
        return self.quantizer.nearest(self.z_e(x))

    def encode(self, x: Tensor) -> Tensor:
        """z_q(x) flattened, (N, L·D)."""
        return self.quantizer.codebook[self.codes_of(x)].flatten(1)

    def decoder_output(self, z_q: Tensor) -> Tensor:
        return self.decoder(self._to_map(z_q))

    def decode(self, z: Tensor) -> Tensor:
        """E[x | z_q] for z_q of shape (N, L·D)."""
        return self.obs.mean(self.decoder_output(z.reshape(z.shape[0], self.length, -1)))

    def elbo(self, x: Tensor) -> Tensor:
        """log p(k(x)) + log p(x | e_k(x)) ≤ log p(x), (N,)."""
        self.obs.check_range(x)
        k = self.codes_of(x)
        return self.prior.log_prob(k) + self.obs.log_prob(self.decoder_output(self.quantizer.codebook[k]), x)

    def rate_distortion(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(−log p(k(x)), −log p(x | e_k(x))) per example: a deterministic one-hot q has rate −log p(k)."""
        self.obs.check_range(x)
        k = self.codes_of(x)
        return -self.prior.log_prob(k), -self.obs.log_prob(self.decoder_output(self.quantizer.codebook[k]), x)

    def fit_prior(self, x: Tensor, steps: int, batch_size: int = 64) -> float:
        """Refit the autoregressive prior on the codes of ``x`` (the paper's order); returns the last NLL per example."""
        with torch.no_grad():
            codes = torch.cat([self.codes_of(x[i : i + 512]) for i in range(0, x.shape[0], 512)])
        nll = float("nan")
        for _ in range(steps):
            k = codes[torch.randint(0, codes.shape[0], (batch_size,), device=codes.device)]
            nll = self.prior_step(k).item()
        return nll

    def prior_step(self, k: Tensor) -> Tensor:
        loss = -self.prior.log_prob(k).mean()
        descend(self.opt_prior, loss)
        return loss.detach()

    def step(self, batch: Tensor | tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        self.obs.check_range(x)
        z_e = self.z_e(x)
        if int(self.iteration) == 0:
            self.quantizer.init_from(z_e.detach())
        z_q, k, codebook_loss, commitment = self.quantizer(z_e)
        log_px = self.obs.log_prob(self.decoder_output(z_q), x)
        loss = (-log_px + codebook_loss + self.config.commitment * commitment).mean()
        descend(self.opt, loss)
        prior_nll = self.prior_step(k) if int(self.iteration) >= self.config.prior_start else -self.prior.log_prob(k).mean().detach()
        self.iteration += 1
        with torch.no_grad():
            usage = torch.bincount(k.flatten(), minlength=self.config.codes).float()
            p = usage / usage.sum()
            perplexity = torch.exp(-(p[p > 0] * p[p > 0].log()).sum())
        distortion = -log_px.mean().detach()
        return {"loss": loss.detach(), "distortion": distortion, "rate": prior_nll, "elbo": -(distortion + prior_nll),
                "commitment": commitment.mean().detach(), "perplexity": perplexity, "usage": (usage > 0).float().mean()}

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        """k ~ p(k) (the fitted prior), x ~ p(x | e_k) (its mean with ``sample_mean``)."""
        k = self.prior.sample(n, self.device)
        out = self.decoder_output(self.quantizer.codebook[k])
        return self.obs.mean(out) if self.config.sample_mean else self.obs.sample(out)
