#!/usr/bin/env sh
# Creates the files docker-compose.yml mounts as secrets, in ./secrets/ (or $SECRETS_DIR):
#
#   tls-cert.pem, tls-key.pem   self-signed certificate for the proxy (EC P-256, 825 days). SANs: localhost,
#                               proxy, 127.0.0.1, ::1, plus $TLS_SAN (e.g. TLS_SAN=DNS:api.example.com,IP:10.0.0.5)
#   api-keys                    API_KEYS_FILE for the proxy: a `trader` key (read+trade) and a `prometheus`
#                               key (read, for scraping /metrics). Only SHA-256 hashes are stored.
#   metrics-key                 the `prometheus` key itself, for Prometheus' bearer token
#   internal-token              the shared secret the proxy sends to the workers (IBREST_INTERNAL_TOKEN_FILE)
#   grafana-admin-password      random password of Grafana's admin user
#   tws-password                IB password for the `gateway` profile, from $TWS_PASSWORD (empty otherwise)
#
# Existing files are kept, so running it again only fills in what is missing. The trader key and the Grafana
# password are printed once and not stored in clear anywhere: save them. Needs only `openssl`.
set -eu

dir=${SECRETS_DIR:-./secrets}
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

command -v openssl >/dev/null 2>&1 || { echo "make-secrets: openssl is required" >&2; exit 1; }

# Containers run as a non-root user that is not the host user, and compose mounts secrets with the host
# file's mode: the files are world-readable inside a directory only the owner can enter.
publish() { chmod 644 "$1"; }

random_key() { printf 'ibr_%s' "$(openssl rand -hex 24)"; }
hash_key() { printf '%s' "$1" | openssl dgst -sha256 -r | cut -d' ' -f1; }

if [ ! -s "$dir/tls-cert.pem" ] || [ ! -s "$dir/tls-key.pem" ]; then
  san="DNS:localhost,DNS:proxy,IP:127.0.0.1,IP:::1${TLS_SAN:+,$TLS_SAN}"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/CN=ibrest-proxy" -addext "subjectAltName=$san" \
    -addext "extendedKeyUsage=serverAuth" \
    -keyout "$dir/tls-key.pem" -out "$dir/tls-cert.pem" 2>/dev/null
  publish "$dir/tls-key.pem"
  publish "$dir/tls-cert.pem"
  echo "created $dir/tls-cert.pem (self-signed, $san)"
  echo "  SHA-256 fingerprint: $(openssl x509 -in "$dir/tls-cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)"
fi

if [ ! -s "$dir/api-keys" ]; then
  trader=$(random_key)
  metrics=$(random_key)
  {
    echo "# name:scopes:sha256 of the key. Add keys with: node packages/proxy/dist/src/main.js hash-key -"
    echo "trader:read+trade:sha256:$(hash_key "$trader")"
    echo "prometheus:read:sha256:$(hash_key "$metrics")"
  } >"$dir/api-keys"
  printf '%s' "$metrics" >"$dir/metrics-key"
  publish "$dir/api-keys"
  publish "$dir/metrics-key"
  echo "created $dir/api-keys; your API key (scopes read+trade), shown once:"
  echo "  $trader"
elif [ ! -s "$dir/metrics-key" ]; then
  echo "make-secrets: $dir/api-keys exists but $dir/metrics-key does not; add a read key for Prometheus by hand" >&2
fi

if [ ! -s "$dir/internal-token" ]; then
  openssl rand -hex 32 | tr -d '\n' >"$dir/internal-token"
  publish "$dir/internal-token"
  echo "created $dir/internal-token (proxy → workers)"
fi

if [ ! -s "$dir/grafana-admin-password" ]; then
  password=$(openssl rand -hex 16)
  printf '%s' "$password" >"$dir/grafana-admin-password"
  publish "$dir/grafana-admin-password"
  echo "created $dir/grafana-admin-password; Grafana login admin / $password"
fi

if [ ! -e "$dir/tws-password" ]; then
  printf '%s' "${TWS_PASSWORD:-}" >"$dir/tws-password"
  publish "$dir/tws-password"
  if [ -n "${TWS_PASSWORD:-}" ]; then
    echo "created $dir/tws-password"
  else
    echo "created an empty $dir/tws-password (only the gateway profile uses it: write your IB password into it)"
  fi
fi
