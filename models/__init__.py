"""The three lightweight IVIF baselines (CNN, Transformer, GAN) and their training losses."""
