package provider

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// NewProtocol6Server returns the provider's protocol 6 server: the framework's, except that
// ReadDataSource of vip_keepalived_config calls the data source's Read itself and sends the
// state it encoded (keepalived_config_data_source_state.go) as it is.
//
// After a data source's Read the framework converts the whole result to its own value types
// for semantic equality, deep-copies and compares it, and rebuilds it once more to reify null
// blocks: two thirds of the provider's time for a 10,000-virtual-server configuration (about
// 1.5 million values; see `make bench`, BenchmarkPlanLarge). For this data source both steps
// change nothing, since its schema has no blocks and no type with semantic equality, so the
// server skips them; configuration validation and every other call still go to the framework.
func NewProtocol6Server(version string) func() (tfprotov6.ProviderServer, error) {
	return func() (tfprotov6.ProviderServer, error) {
		fw, err := providerserver.NewProtocol6WithError(New(version)())()
		if err != nil {
			return nil, err
		}
		return &protocolServer{ProviderServer: fw}, nil
	}
}

// bigStateSize is the encoded state size above which a read returns its memory to the system.
const bigStateSize = 1 << 20

type protocolServer struct {
	tfprotov6.ProviderServer
}

// keepalivedConfigTypeName is the data source's full type name (provider "vip").
const keepalivedConfigTypeName = "vip_keepalived_config"

func (s *protocolServer) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	if req == nil || req.TypeName != keepalivedConfigTypeName || req.Config == nil {
		return s.ProviderServer.ReadDataSource(ctx, req)
	}
	return readKeepalivedConfigDirect(ctx, &keepalivedConfigDataSource{}, req)
}

// readKeepalivedConfigDirect runs the data source's Read on the request's configuration and
// sends the state it encoded, without the framework's post-processing (see NewProtocol6Server).
func readKeepalivedConfigDirect(ctx context.Context, ds *keepalivedConfigDataSource, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	var schemaResp datasource.SchemaResponse
	ds.Schema(ctx, datasource.SchemaRequest{}, &schemaResp)
	resp := &tfprotov6.ReadDataSourceResponse{Diagnostics: protoDiagnostics(schemaResp.Diagnostics)}
	if schemaResp.Diagnostics.HasError() {
		return resp, nil
	}
	typ := schemaResp.Schema.Type().TerraformType(ctx)
	config, err := req.Config.Unmarshal(typ)
	if err != nil {
		// A diagnostic, as the framework answers a configuration it cannot decode.
		return withError(resp, "Unable to read the data source configuration", err), nil
	}
	readReq := datasource.ReadRequest{
		Config:             tfsdk.Config{Raw: config, Schema: schemaResp.Schema},
		ClientCapabilities: datasource.ReadClientCapabilities{DeferralAllowed: req.ClientCapabilities != nil && req.ClientCapabilities.DeferralAllowed},
	}
	readResp := datasource.ReadResponse{State: tfsdk.State{Raw: config, Schema: schemaResp.Schema}}
	state := ds.readState(ctx, readReq, &readResp)
	resp.Diagnostics = append(resp.Diagnostics, protoDiagnostics(readResp.Diagnostics)...)
	if state == nil {
		// As the framework does, an error goes back with the configuration as the state
		// (Terraform ignores it).
		dv, err := tfprotov6.NewDynamicValue(typ, config)
		if err != nil {
			return nil, fmt.Errorf("encoding the configuration: %w", err)
		}
		state = dv.MsgPack
	}
	resp.State = &tfprotov6.DynamicValue{MsgPack: state}
	if len(state) > bigStateSize {
		// Reading and building a large configuration took many times the state's size, all
		// garbage now; Terraform is about to need memory to decode the state, and the provider
		// process lives on until the plan ends. Returned now, that memory does not add to
		// Terraform's peak (a few milliseconds; 110 -> 30 MB resident at 10,000 x 10).
		debug.FreeOSMemory()
	}
	return resp, nil
}

// withError adds err to the response as an error diagnostic.
func withError(resp *tfprotov6.ReadDataSourceResponse, summary string, err error) *tfprotov6.ReadDataSourceResponse {
	resp.Diagnostics = append(resp.Diagnostics, &tfprotov6.Diagnostic{Severity: tfprotov6.DiagnosticSeverityError,
		Summary: summary, Detail: err.Error()})
	return resp
}

// protoDiagnostics converts framework diagnostics to the protocol's.
func protoDiagnostics(diags diag.Diagnostics) []*tfprotov6.Diagnostic {
	out := make([]*tfprotov6.Diagnostic, 0, len(diags))
	for _, d := range diags {
		pd := &tfprotov6.Diagnostic{Severity: tfprotov6.DiagnosticSeverityWarning, Summary: d.Summary(), Detail: d.Detail()}
		if d.Severity() == diag.SeverityError {
			pd.Severity = tfprotov6.DiagnosticSeverityError
		}
		if wp, ok := d.(diag.DiagnosticWithPath); ok {
			pd.Attribute = attributePath(wp.Path())
		}
		out = append(out, pd)
	}
	return out
}

// attributePath converts a framework path to the protocol's (nil for the root).
func attributePath(p path.Path) *tftypes.AttributePath {
	steps := p.Steps()
	if len(steps) == 0 {
		return nil
	}
	ap := tftypes.NewAttributePath()
	for _, st := range steps {
		switch st := st.(type) {
		case path.PathStepAttributeName:
			ap = ap.WithAttributeName(string(st))
		case path.PathStepElementKeyString:
			ap = ap.WithElementKeyString(string(st))
		case path.PathStepElementKeyInt:
			ap = ap.WithElementKeyInt(int(st))
		default:
			// A set element (by value): no such path in this provider's diagnostics; the
			// diagnostic is still shown, for the whole configuration.
			return nil
		}
	}
	return ap
}
