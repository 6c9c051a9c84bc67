"""Training: the small model this project makes itself (``model_init.py``); fine-tuning comes next."""
