# apps: one thin main per executable
