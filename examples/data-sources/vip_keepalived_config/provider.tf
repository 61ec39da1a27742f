terraform {
  required_providers {
    vip = {
      source = "vip-manager/vip"
    }
  }
}
