# Real servers reachable only through a jump host (like `ssh -J bastion.example.net`). The
# bastion is authenticated with the same credentials and its host key is checked on its own:
# pinned here, or looked up in known_hosts_file like the real servers'.
provider "vip" {
  alias = "dmz"
  ssh = {
    user             = "deploy"
    private_key_file = "~/.ssh/dmz_ed25519"
    known_hosts_file = "${path.module}/known_hosts" # the real servers' keys, kept with the code
    sudo             = true

    bastion = {
      host     = "bastion.example.net:2222"
      user     = "jump"
      host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID7ZVZ/llOverx5NAVmi2bhjvZkG6pATBwI/swOKRKle"
    }
  }
}

resource "vip_dummy_interface" "rs1" {
  provider  = vip.dmz
  host      = "10.20.0.11" # as the bastion reaches it
  name      = "vip0"
  addresses = ["192.0.2.10", "192.0.2.11"]
}
