#!/bin/sh -e
# An HTTP target over TLS: nginx (Debian) terminates https on a loopback
# port with a certificate made here, and passes the requests on to
# json-server.  TLS is verified: the certificate of no known authority is
# refused (transient: the changes stay pending), and trusted through the
# connection's cainfo, the same push goes through.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/jsonserver.sh"
for c in nginx openssl; do
	command -v $c >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
	command -v $c >/dev/null 2>&1 || {
		echo "Bail out! $c is missing: make deps installs it"
		exit 1
	}
done
plan 7
js_start

# A certificate for 127.0.0.1, its own authority.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem \
    >/dev/null 2>&1
TLS_PORT=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p nginx/tmp
user=
[ "$(id -u)" != 0 ] || user="user root;"
cat >nginx/nginx.conf <<EOF
$user
worker_processes 1;
daemon off;
pid $SCRATCH/nginx/nginx.pid;
error_log $SCRATCH/nginx/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $SCRATCH/nginx/tmp;
	proxy_temp_path $SCRATCH/nginx/tmp;
	fastcgi_temp_path $SCRATCH/nginx/tmp;
	uwsgi_temp_path $SCRATCH/nginx/tmp;
	scgi_temp_path $SCRATCH/nginx/tmp;
	server {
		listen 127.0.0.1:$TLS_PORT ssl;
		ssl_certificate $SCRATCH/cert.pem;
		ssl_certificate_key $SCRATCH/key.pem;
		location / { proxy_pass http://127.0.0.1:$JS_PORT; }
	}
}
EOF
nginx -p "$SCRATCH/nginx" -c "$SCRATCH/nginx/nginx.conf" 2>nginx/stderr &
NPID=$!
trap 'kill $NPID 2>/dev/null || :; js_stop; rm -rf "$SCRATCH"' EXIT
i=0
until curl -s -o /dev/null --cacert cert.pem "https://127.0.0.1:$TLS_PORT/listings"; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "Bail out! nginx did not start"
		sed "s/^/# /" nginx/stderr nginx/error.log 2>&1; exit 1
	fi
	sleep 0.05
done

SM_TENANT=acme
SM_PUSH_BACKOFF_MS=5
export SM_TENANT SM_PUSH_BACKOFF_MS
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
U=https://127.0.0.1:$TLS_PORT/listings
sm-tenant target add cms --type cms --config '{"url":"'"$U"'",
    "create":{"method":"POST","path":""}}' >/dev/null
printf '{"id":"A%d","price":%d}\n' 1 100 2 200 3 300 |
    sm-import -q -s portal >/dev/null
sm-sync -q portal cms >/dev/null

check_exit 'a certificate of no known authority: 75' 75 \
    env SM_PUSH_RETRIES=1 sm-push cms
check 'says why' grep_q 'certificate' err
check 'nothing reached json-server' test "$(js_rows | wc -l)" = 0
check 'all pending still' \
    sh -c 'sm-push --status cms | jq -e ".pending == 3" >/dev/null'
sm-tenant target set cms --config '{"url":"'"$U"'",
    "create":{"method":"POST","path":""},"cainfo":"'"$SCRATCH/cert.pem"'"}' \
    >/dev/null
check_exit 'trusted through cainfo: 0' 0 sm-push cms
check 'delivered over TLS' test "$(js_rows | wc -l)" = 3
check_exit 'and read back over TLS' 0 sm-pull cms
done_testing
