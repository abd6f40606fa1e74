# src/serve: HTTP server over the engine (libmicrohttpd + jansson), and the chat templates it uses
libflagscale_a_SOURCES += src/infer/fs_chat.c src/serve/fs_serve.h src/serve/fs_serve_http.h \
	src/serve/fs_serve_engine.c src/serve/fs_serve_util.c src/serve/fs_serve_sync.h \
	src/serve/fs_serve_sync.c src/serve/fs_serve_follow.c src/serve/fs_serve_http.c \
	src/serve/fs_serve_fields.c src/serve/fs_serve_api.c src/serve/fs_serve_stream.c src/serve/fs_serve_openai.c \
	src/serve/fs_serve_logprobs.c src/serve/fs_serve_app.c
pkginclude_HEADERS += src/infer/fs_chat.h src/serve/fs_serve_app.h
