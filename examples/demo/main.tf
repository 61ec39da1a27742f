# Real-server VIPs from the director's keepalived.conf: one vip_dummy_interface per real server,
# reached over SSH. This is the configuration `make demo` applies; copy it and set the variables
# (see terraform.tfvars.example) to manage your own real servers.

terraform {
  required_version = ">= 1.5"
  required_providers {
    vip = {
      source = "vip-manager/vip"
    }
  }
}

provider "vip" {
  ssh = {
    user             = var.ssh_user
    private_key_file = var.ssh_private_key_file
    # Host keys are checked strictly against this file; there is no trust-on-first-use.
    known_hosts_file = var.ssh_known_hosts_file
  }
}

# The director's configuration, read exactly as keepalived reads it (includes, $PARAMETERS,
# virtual_server_group, ...). A port-conflict warning appears here when a real server serves a VIP
# on one port but not on another.
data "vip_keepalived_config" "director" {
  path = var.keepalived_conf
}

locals {
  real_servers = data.vip_keepalived_config.director.real_servers
}

resource "vip_dummy_interface" "rs" {
  # One interface per real server, keyed by the real server's address in keepalived.conf.
  for_each = var.ssh_hosts

  host      = each.value
  name      = var.interface_name
  addresses = try(local.real_servers[each.key], []) # the precondition below rejects a missing key
  # The VIPs and ARP sysctls come back at boot, ARP sysctls first (a systemd unit and a state file
  # on the real server; see the resource's documentation).
  persist = var.persist

  lifecycle {
    # A real server that keepalived.conf does not name would otherwise silently lose every VIP
    # (e.g. after a typo in ssh_hosts). To take a server out of service, drop it from ssh_hosts.
    precondition {
      condition     = contains(keys(local.real_servers), each.key)
      error_message = "Real server ${each.key} (SSH host ${each.value}) does not appear in ${var.keepalived_conf} as a real server reached by DR or TUN. Fix the address in ssh_hosts, or remove the entry to take its VIPs away."
    }
  }
}

# Real servers that keepalived.conf sends DR/TUN traffic to but that terraform does not manage.
check "every_real_server_is_managed" {
  assert {
    condition     = length(setsubtract(keys(local.real_servers), keys(var.ssh_hosts))) == 0
    error_message = "keepalived.conf has real servers that ssh_hosts does not map to an SSH host, so nothing puts their VIPs on them: ${join(", ", setsubtract(keys(local.real_servers), keys(var.ssh_hosts)))}."
  }
}

output "vips" {
  description = "VIPs per real server, as applied."
  value       = { for addr, rs in vip_dummy_interface.rs : addr => rs.addresses }
}

output "port_conflicts" {
  description = "Real servers whose own connections to some port of a VIP they hold would stay local (see the warning)."
  value       = data.vip_keepalived_config.director.port_conflicts[*].message
}
