# The VIPs that the directors' keepalived.conf assigns to this machine (real server 192.0.2.11),
# on a dummy interface, with ARP for them suppressed: run terraform on the real server itself
# (no `host`), as root.
data "vip_keepalived_config" "lvs" {
  path = "${path.module}/keepalived.conf"
}

resource "vip_dummy_interface" "vip0" {
  name = "vip0"
  # Sorted, canonical addresses of every virtual server that sends DR or TUN traffic here
  # (203.0.113.10 and 2001:db8:53::1). Indexed without try(): if keepalived.conf stops naming
  # this server (or the address has a typo), plan fails instead of removing every VIP.
  addresses = data.vip_keepalived_config.lvs.real_servers["192.0.2.11"]

  # The defaults, spelled out: answer ARP only for addresses on the receiving interface, and
  # never use a VIP as an ARP source address, on every interface.
  arp_ignore     = 1
  arp_announce   = 2
  arp_interfaces = ["all"]

  # Addresses on vip0 that keepalived.conf does not assign here are removed.
  exclusive = true

  # Also recreate vip0, exactly these VIPs and the ARP sysctls at boot (ARP sysctls first), with a
  # systemd unit and a state file on this machine; edits to them show as drift in the plan.
  persist = true
}

output "vip0" {
  value = {
    ifindex   = vip_dummy_interface.vip0.ifindex
    addresses = vip_dummy_interface.vip0.addresses
  }
}
