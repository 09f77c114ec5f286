"""Data parallelism: two CPU ranks (gloo) stay in lock-step without any change to model files."""

import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from genzoo import run


def _train_and_report(rank: int, world: int, init_file: str, queue) -> None:
    os.environ.update(WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        from genzoo import data
        from genzoo.train import BatchStream, TrainConfig, Trainer

        cfg = run.resolve("gan", "ring8", sets=["hidden=16", "depth=1"])
        dataset = data.load("ring8", n=1000)
        model, _ = run.build(cfg, dataset)
        torch.manual_seed(100 + rank)  # each rank draws its own noise
        stream = BatchStream(dataset.x, None, 16, seed=1, rank=rank, world_size=world)
        first = stream.next()
        stream = BatchStream(dataset.x, None, 16, seed=1, rank=rank, world_size=world)
        tc = TrainConfig(steps=10, log_every=5, sample_every=0, checkpoint_every=1000, progress=False)
        Trainer(model, stream, tc, run_dir=os.path.dirname(init_file) + f"/r{rank}").fit()
        flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
        queue.put((rank, flat.tolist(), first.tolist()))  # plain lists: tensors would need the sender alive
    finally:
        dist.destroy_process_group()


def test_two_ranks_average_gradients_and_see_disjoint_data(tmp_path):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_train_and_report, args=(r, 2, str(tmp_path / "init"), queue)) for r in range(2)]
    for p in procs:
        p.start()
    results = dict((r, (w, b)) for r, w, b in (queue.get(timeout=120) for _ in procs))
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    (w0, b0), (w1, b1) = results[0], results[1]
    assert w0 == w1  # averaged gradients keep identical replicas
    w0 = torch.tensor(w0)
    # the ranks' batches are disjoint slices of the same global batch
    assert not set(map(tuple, b0)) & set(map(tuple, b1))
    # and training moved the weights away from the shared initialisation
    cfg = run.resolve("gan", "ring8", sets=["hidden=16", "depth=1"])
    from genzoo import data

    init, _ = run.build(cfg, data.load("ring8", n=1000))
    w_init = torch.cat([p.detach().reshape(-1) for p in init.parameters()])
    assert not torch.equal(w_init, w0)
