# Read the directors' keepalived.conf: which VIPs must each real server hold?
data "vip_keepalived_config" "lvs" {
  path = "${path.module}/keepalived.conf"

  # Optional: keepalived's config id for @id lines, and the methods needing a local VIP.
  # config_id          = "lb1"
  # forwarding_methods = ["DR", "TUN"]

  # Optional: refuse a configuration keepalived would only complain about (default: warnings).
  # strict = true
}

# VIPs per real server, e.g. { "192.0.2.11" = ["203.0.113.10"], "192.0.2.21" = [...] }.
output "vips" {
  value = data.vip_keepalived_config.lvs.real_servers

  precondition {
    condition     = length(data.vip_keepalived_config.lvs.port_conflicts) == 0
    error_message = join("\n", data.vip_keepalived_config.lvs.port_conflicts[*].message)
  }
}

# The services behind one real server's VIPs come from virtual_servers, which list each service
# with its real and sorry servers (real_servers does not repeat them per server).
output "services_of_192_0_2_11" {
  value = [
    for vs in data.vip_keepalived_config.lvs.virtual_servers : "${vs.protocol} ${vs.address}:${vs.port} ${vs.forwarding_method}"
    if contains(vs.real_servers[*].address, "192.0.2.11") || try(vs.sorry_server.address, "") == "192.0.2.11"
  ]
}
