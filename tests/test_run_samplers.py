"""``genzoo sample RUN --sampler NAME`` works for every model × sampler pair that ``genzoo list`` promises.

The pairs come from the table ``genzoo list`` prints (:func:`genzoo.run_sampling.families`), so a
sampler that claims a model it cannot sample fails here. Each run is a tiny one (one training step,
the contract test's small networks), sampled through the CLI function.
"""

from pathlib import Path

import numpy as np
import pytest

from genzoo import cli, run
from genzoo.models import MODELS
from genzoo.run_sampling import RUN_SAMPLERS, families

#: Cheap settings of each sampler (a few steps; DDLS's logistic calibration on a few points).
CHEAP = {"ddls": ["steps=2", "calibration_n=16"], "langevin": ["steps=2"], "gibbs-block": ["steps=2"],
         "gibbs-single-site": ["sweeps=2"]}
DATA = {"points": ("ring8", ["data.n=64", "data.n_test=16"]), "images": ("digits", [])}
PAIRS = [(model, sampler) for sampler in RUN_SAMPLERS for model in families(sampler)]


def test_every_run_sampler_has_cheap_settings_and_a_model():
    assert set(CHEAP) == set(RUN_SAMPLERS)
    assert all(families(s) for s in RUN_SAMPLERS), {s: families(s) for s in RUN_SAMPLERS}
    assert families("gibbs-single-site") == ["bm"]


@pytest.mark.parametrize("model,sampler", PAIRS, ids=[f"{m}-{s}" for m, s in PAIRS])
def test_sample_a_tiny_run_with_each_sampler_list_promises(model, sampler, tmp_path, capsys):
    cls = MODELS.get(model)
    kind = "points" if "points" in cls.supports else "images"
    data_name, data_sets = DATA[kind]
    data_name, params = getattr(cls, "contract_data", {}).get(kind, (data_name, None))
    if params is not None:
        data_sets = [f"data.{k}={v}" for k, v in params.items()]
    sets = [f"model.{k}={v}" for k, v in cls.contract_overrides.items()] + data_sets + [
        "train.steps=1", "train.batch_size=16", "train.sample_every=0", "train.n_eval=16", "train.n_picture=16",
        "train.progress=false"]
    config = run.resolve(model, data_name, sets=sets)
    run_dir, _ = run.train(config, tmp_path, name="r")
    args = ["sample", str(run_dir), "-n", "6", "--seed", "1", "--sampler", sampler]
    for s in CHEAP[sampler]:
        args += ["--set", s]
    code = cli.main(args)
    assert code == 0, capsys.readouterr().err
    made = sorted(Path(run_dir, "samples").glob(f"sample_{sampler}*seed1.npy"))
    assert made, sorted(p.name for p in Path(run_dir, "samples").iterdir())
    x = np.load(made[0])
    assert x.shape[0] == 6 and np.isfinite(x).all()
