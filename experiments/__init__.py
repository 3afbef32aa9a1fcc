"""One module per question of the seed assignment, in order (see aejax.experiment for the contract)."""

EXPERIMENTS = [
    "q1_uses",
    "q2_few_labels",
    "q3_evaluation",
    "q4_completeness",
    "q5_tied_weights",
    "q6_vae",
    "q7_gan_tasks",
    "q8_gan_difficulties",
]
