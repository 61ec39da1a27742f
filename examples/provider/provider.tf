terraform {
  required_providers {
    vip = {
      source = "vip-manager/vip"
    }
  }
}

# Real servers are reached over SSH as root with a key; host keys are checked against
# ~/.ssh/known_hosts.
provider "vip" {
  ssh = {
    user             = "root"
    private_key_file = pathexpand("~/.ssh/id_ed25519")
  }
}
