"""The trainer's evaluation budget (train.eval_share) and the evaluation groups' tiers."""

import json

import pytest
import torch

from genzoo import run
from genzoo.cli import main
from genzoo.errors import GenzooError
from genzoo.metrics.evaluate import EVALUATIONS, evaluate, training_stage
from genzoo.metrics.likelihood import IW_K, IW_K_TRAIN

TINY = ["steps=40", "batch_size=32", "log_every=10", "checkpoint_every=40", "sample_every=10",
        "progress=false", "hidden=16", "depth=1", "data.n=2000", "n_eval=200"]


def _trainer_with_fake_clock(tmp_path, eval_cost: float):
    """A tiny GAN trainer whose clock reads 1 s per training step plus ``eval_cost`` s per evaluation."""
    cfg = run.resolve("gan", "ring8", sets=TINY)
    model, dataset = run.build(cfg)
    trainer = run._prepare(model, dataset, cfg["train"], tmp_path / "r")
    spent = {"eval": 0.0}
    evaluated: list[int] = []

    def on_sample(model, step, run_dir):
        spent["eval"] += eval_cost
        evaluated.append(step)
        return {"w1": 1.0}

    trainer.on_sample = on_sample
    trainer.clock = lambda: float(trainer.step) + spent["eval"]
    return trainer, evaluated


def test_a_periodic_evaluation_over_the_share_is_skipped_and_the_final_one_runs(tmp_path, capsys):
    # 4 s per evaluation against 10 s of training between them: after the first (4 of 14 s), a
    # second would make 8 of 28 s > 20 %, as would a third (8 of 38 s); the final one runs anyway
    trainer, evaluated = _trainer_with_fake_clock(tmp_path, eval_cost=4.0)
    final = trainer.fit()
    assert evaluated == [10, 40]
    assert trainer.evaluations == {"periodic": 1, "final": 1, "skipped": 2}
    err = capsys.readouterr().err
    assert err.count("genzoo: note: evaluation") == 1 and "step 20 skipped" in err  # said once, at the first skip
    assert final["eval_share"] == pytest.approx(8 / 48) and final["evaluations_skipped"] == 2
    account = json.loads((tmp_path / "r" / "evaluation.json").read_text())
    assert account["evaluations"] == {"periodic": 1, "final": 1, "skipped": 2}
    assert account["eval_share"] == pytest.approx(8 / 48) and account["budget"] == 0.2


def test_evaluations_within_the_share_all_run(tmp_path, capsys):
    trainer, evaluated = _trainer_with_fake_clock(tmp_path, eval_cost=1.0)  # 1 s in 11: always ≤ 20 %
    trainer.fit()
    assert evaluated == [10, 20, 30, 40] and trainer.evaluations["skipped"] == 0
    assert "skipped" not in capsys.readouterr().err


def test_eval_share_one_never_skips(tmp_path):
    trainer, evaluated = _trainer_with_fake_clock(tmp_path, eval_cost=100.0)
    trainer.config.eval_share = 1.0
    trainer.fit()
    assert evaluated == [10, 20, 30, 40]


def test_tiny_run_summary_reports_the_evaluation_share(tmp_path, capsys):
    code = main(["train", "gan", "--data", "ring8", "--runs", str(tmp_path), "--name", "r",
                 *[f"--set={s}" for s in TINY]])
    out = capsys.readouterr().out
    assert code == 0
    assert "% of the training wall-clock (budget 20 %" in out
    assert "during training w1, modes" in out
    assert f"genzoo eval {tmp_path / 'r'} --full" in out
    last = json.loads((tmp_path / "r" / "metrics.jsonl").read_text().splitlines()[-1])
    assert 0 < last["eval_share"] <= 1 and last["eval_seconds"] > 0
    account = json.loads((tmp_path / "r" / "evaluation.json").read_text())
    assert account["final_groups"] == ["w1", "modes"] and account["evaluations"]["final"] == 1


def test_tiers_decide_what_training_scores(tmp_path):
    cfg = run.resolve("vae", "ring8", sets=["hidden=16", "data.n=600"])
    model, dataset = run.build(cfg)
    torch.manual_seed(0)
    with training_stage("periodic") as periodic:
        during = evaluate(model, dataset, n=100)
    torch.manual_seed(0)
    with training_stage("final") as final:
        at_end = evaluate(model, dataset, n=100)
    torch.manual_seed(0)
    outside = evaluate(model, dataset, n=100)
    assert "elbo" in during and "rate" in during and "log_likelihood_iw" not in during
    assert "likelihood-iw" in final.scored and "likelihood-iw" not in periodic.scored
    assert at_end["iw_k"] == IW_K_TRAIN and outside["iw_k"] == IW_K  # genzoo eval keeps the protocol's K
    assert at_end["elbo"] == during["elbo"] == outside["elbo"]  # the same examples, whatever the stage
    with training_stage("periodic", asked={"likelihood-iw"}):
        assert "log_likelihood_iw" in evaluate(model, dataset, n=100)


def test_every_group_declares_a_tier_and_costly_ones_wait_for_genzoo_eval():
    from genzoo.discovery import import_submodules

    import_submodules("genzoo.metrics")
    tiers = {name: group.tier for name, group in EVALUATIONS.items()}
    assert tiers["disentanglement"] == "eval" and tiers["likelihood-iw"] == "final"
    assert tiers["rate-distortion"] == "periodic"
    with pytest.raises(ValueError, match="tier"):
        from genzoo.metrics.evaluate import evaluation

        evaluation("x-bad-tier", applies=lambda m, d: False, tier="sometimes")


def test_eval_groups_are_checked_before_the_run_starts(tmp_path):
    cfg = run.resolve("gan", "ring8", sets=TINY + ["eval_groups=disentanglment"])
    with pytest.raises(GenzooError, match="disentanglement"):
        run.train(cfg, tmp_path)
    assert not list(tmp_path.iterdir())
    with pytest.raises(GenzooError, match="eval_share"):
        run.resolve("gan", "ring8", sets=TINY + ["eval_share=0"])
