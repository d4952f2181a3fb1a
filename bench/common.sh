# Shared by the bench scripts (sourced): waiting for a server, a free port, nginx as the peer proxy.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_line() {  # FILE PATTERN -> the URL of the first matching "listening" line
  for _ in $(seq 100); do
    if grep -q "$2" "$1" 2>/dev/null; then grep "$2" "$1" | head -1 | awk '{print $3}'; return; fi
    sleep 0.1
  done
  echo "timeout waiting for $2 in $1" >&2; cat "$1" >&2; exit 70
}

proxy_io() {  # FILE -> "io_uring" or "epoll": the event loop's backend of the stormgate proxy whose output is FILE (its /stats)
  curl -fsS "$(wait_line "$1" "listening admin")/stats" | grep -o '"io":"[a-z_]*"' | cut -d'"' -f4
}

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 70; }

write_nginx_conf() {  # DIR LISTEN_PORT UPSTREAM_PORT -> DIR/nginx.conf: one worker, access log on (buffered), keep-alive upstream
  cat >"$1/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log $1/nginx-access.log combined buffer=64k flush=1s;
  upstream backend { server 127.0.0.1:$3; keepalive 256; }
  server {
    listen 127.0.0.1:$2;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGX
}
