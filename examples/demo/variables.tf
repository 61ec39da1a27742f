variable "keepalived_conf" {
  description = "Path of the director's keepalived.conf (a copy in this repository, or the file itself)."
  type        = string
}

variable "ssh_hosts" {
  description = "Real-server address as written in keepalived.conf => SSH host (host, host:port or [v6]:port) that reaches that server."
  type        = map(string)
}

variable "interface_name" {
  description = "Name of the dummy interface that holds the VIPs on every real server."
  type        = string
  default     = "vip0"
}

variable "persist" {
  description = "Write the boot files that recreate the VIPs and ARP sysctls at boot (needs systemd on the real servers)."
  type        = bool
  default     = true
}

variable "ssh_user" {
  description = "SSH user on the real servers (root, or a user allowed to run the helper with sudo; see the provider's ssh.sudo)."
  type        = string
  default     = "root"
}

variable "ssh_private_key_file" {
  description = "Private key for SSH. Null: use the ssh-agent at SSH_AUTH_SOCK, or VIP_SSH_PRIVATE_KEY_FILE."
  type        = string
  default     = null
}

variable "ssh_known_hosts_file" {
  description = "known_hosts file with the real servers' host keys. Null: VIP_SSH_KNOWN_HOSTS_FILE, else ~/.ssh/known_hosts."
  type        = string
  default     = null
}
