# batch: Slurm/PBS templates, modulefile, man pages
