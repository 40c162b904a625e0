#!/usr/bin/env bash
# Installs (Debian packages) and starts the servers the service suites test against, each on a
# loopback port: memcached :11211, vsftpd (FTP and explicit FTPS) :2121, sshd (SFTP) :2222, with a
# test user for the file servers. Idempotent: what is installed is not installed again, what
# answers is not started again. Needs root (CI and these machines run as root).
set -euo pipefail

CONF=/etc/edgeforge-ci
USER_NAME=edgeforge-test
USER_PASSWORD=edgeforge-test-pw

up() { # host port
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" >/dev/null 2>&1
}

missing=()
command -v memcached >/dev/null 2>&1 || missing+=(memcached)
[ -x /usr/sbin/vsftpd ] || missing+=(vsftpd)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "ci: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$CONF"
if ! id "$USER_NAME" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$USER_NAME"
fi
echo "$USER_NAME:$USER_PASSWORD" | chpasswd

if ! up 127.0.0.1 11211; then
  echo "ci: starting memcached"
  memcached -d -u memcache -l 127.0.0.1 -p 11211 -m 64
fi

if [ ! -f "$CONF/ftp.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=127.0.0.1 \
    -keyout "$CONF/ftp.pem" -out "$CONF/ftp.pem" >/dev/null 2>&1
fi
cat > "$CONF/vsftpd.conf" <<CONF_END
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=2121
background=YES
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=21100
pasv_max_port=21199
pam_service_name=vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
seccomp_sandbox=NO
ssl_enable=YES
allow_anon_ssl=NO
force_local_logins_ssl=NO
force_local_data_ssl=NO
require_ssl_reuse=NO
rsa_cert_file=$CONF/ftp.pem
rsa_private_key_file=$CONF/ftp.pem
CONF_END
mkdir -p /var/run/vsftpd/empty
if ! up 127.0.0.1 2121; then
  echo "ci: starting vsftpd on 127.0.0.1:2121"
  /usr/sbin/vsftpd "$CONF/vsftpd.conf"
fi

[ -f "$CONF/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$CONF/ssh_host_ed25519_key"
cat > "$CONF/sshd_config" <<CONF_END
Port 2222
ListenAddress 127.0.0.1
HostKey $CONF/ssh_host_ed25519_key
PidFile /run/edgeforge-ci-sshd.pid
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
PermitRootLogin no
AllowUsers $USER_NAME
Subsystem sftp internal-sftp
CONF_END
mkdir -p /run/sshd
if ! up 127.0.0.1 2222; then
  echo "ci: starting sshd (SFTP) on 127.0.0.1:2222"
  /usr/sbin/sshd -f "$CONF/sshd_config"
fi

for port in 11211 2121 2222; do
  for _ in $(seq 1 30); do up 127.0.0.1 "$port" && break; sleep 0.5; done
  up 127.0.0.1 "$port" || { echo "ci: nothing answers on 127.0.0.1:$port" >&2; exit 1; }
done
echo "ci: memcached, vsftpd and sshd are up"
