"""Training data: scans and photographs -> 2D slices -> crops -> (LR, HR) patch batches."""
