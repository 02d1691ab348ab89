"""The neural-network core: activations, costs, the Network, optimisers and the training loop."""
