"""Training: the small model this project makes itself (``model_init.py``), supervised fine-tuning
with checkpoints and resume (``sft.py``), examples rendered with the prompts the model sees at
inference (``examples.py``), SFT dataset export (``export.py``), the learning measurement's steps
(``learning.py``); the ``prover train`` / ``prover model init`` commands are ``prover/cli/train.py``."""
