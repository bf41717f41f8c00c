"""Training: the arrays a model learns from (`data`), whether the data suffice (`readiness`),
training and publishing a model (`services`, the one path of `manage.py train` and the trainer),
the trainer loop (`trainer`) and offline evaluation (`offline`)."""
