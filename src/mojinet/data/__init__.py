"""Data: the Dataset type, IDX files, named datasets, and turning user images into inputs."""
