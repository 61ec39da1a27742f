terraform {
  required_providers {
    vip = {
      source = "vip-manager/vip"
    }
  }
}

# Real servers named by a resource's `host` are reached over SSH. Every attribute below is
# optional and has an environment-variable default (VIP_SSH_USER, VIP_SSH_PRIVATE_KEY_FILE, ...);
# without a key, the keys of the ssh-agent at SSH_AUTH_SOCK are used.
provider "vip" {
  ssh = {
    user             = "deploy"
    private_key_file = "~/.ssh/id_ed25519" # an id_ed25519-cert.pub next to it is used too
    sudo             = true                # run the helper with `sudo -n` (NOPASSWD needed)

    # Host keys are always checked. This is the default file; `host_key` pins one key instead.
    known_hosts_file = "~/.ssh/known_hosts"

    timeout = "30s" # connecting, and each read or apply on a real server
  }
}
