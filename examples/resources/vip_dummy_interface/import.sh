# A dummy interface on this machine: local/<name>.
terraform import vip_dummy_interface.vip0 local/vip0

# On a real server reached over SSH: <host>/<name>, host as in the resource's `host`.
terraform import vip_dummy_interface.rs1 rs1.example.net/vip0
