"""GRU4Rec: a session-based next-item model (a recurrent network over the items a session
visited, trained with session-parallel mini-batches and sampled negatives).

Follows Hidasi & Karatzoglou, "Recurrent Neural Networks with Top-k Gains for Session-based
Recommendations" (arXiv 1706.03847) and the training details its authors published later:
cross-entropy or BPR-max over the mini-batch's targets plus popularity-sampled items, tied
("constrained") input/output item embeddings, embedding and hidden dropout, Adagrad.

Threads: this module never changes torch's global settings. `fit` uses torch's intra-op
threads (by default one per core: 2 here). Measured on this 2-core machine, 2 threads help only
when the machine is otherwise idle; with other busy processes they made training steps up to
10x slower than 1 thread (OpenMP workers spin-wait), so a trainer sharing the machine should
call `torch.set_num_threads(1)`. A prediction server should do the same once per worker process:
one request is a few small matrix products that gain nothing from more threads.
"""

from .model import GRU4RecModel
from .params import CONFIG_FILE, STATE_FILE, GRU4RecConfig, GRU4RecOptions, GRU4RecParams

__all__ = ["CONFIG_FILE", "STATE_FILE", "GRU4RecConfig", "GRU4RecModel", "GRU4RecOptions", "GRU4RecParams"]
