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
  value = { for rs, v in data.vip_keepalived_config.lvs.real_servers : rs => v.vips }

  precondition {
    condition     = length(data.vip_keepalived_config.lvs.port_conflicts) == 0
    error_message = join("\n", data.vip_keepalived_config.lvs.port_conflicts[*].message)
  }
}
