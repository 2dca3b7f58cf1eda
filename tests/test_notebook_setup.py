"""``internvideo_core.notebooks.setup``: the one setup call of every notebook."""
import torch

from internvideo_core.notebooks import THREADS_ENV, setup


def test_setup_reads_thread_count_and_seeds(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv(THREADS_ENV, "1")
        setup(seed=3)
        assert torch.get_num_threads() == 1
        a = torch.rand(3)
        setup(seed=3)
        assert torch.equal(a, torch.rand(3))
    finally:
        torch.set_num_threads(before)


def test_setup_leaves_threads_alone_without_the_variable(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    before = torch.get_num_threads()
    setup(seed=0)
    assert torch.get_num_threads() == before
