# src/serve: HTTP server over the engine
