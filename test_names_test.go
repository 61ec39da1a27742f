package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// testingResource is the package whose Test, UnitTest and ParallelTest run terraform.
const testingResource = "github.com/hashicorp/terraform-plugin-testing/helper/resource"

// TestTestNamesSayWhatRunsTerraform holds the project's naming rule: a test is named TestAcc…
// exactly when it runs terraform (calls resource.Test, UnitTest or ParallelTest), so that
// `make testacc` (-run 'TestAcc|TestKernelLab') runs what it says.
func TestTestNamesSayWhatRunsTerraform(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		alias := ""
		for _, im := range f.Imports {
			if path, _ := strconv.Unquote(im.Path.Value); path == testingResource {
				alias = "resource"
				if im.Name != nil {
					alias = im.Name.Name
				}
			}
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Name.Name == "TestMain" {
				continue
			}
			checked++
			runs := alias != "" && callsTerraform(fn.Body, alias)
			named := strings.HasPrefix(fn.Name.Name, "TestAcc")
			at := fset.Position(fn.Pos())
			switch {
			case runs && !named:
				t.Errorf("%s: %s runs terraform (%s.Test/UnitTest): name it TestAcc…", at, fn.Name.Name, alias)
			case named && !runs:
				t.Errorf("%s: %s runs no terraform: drop the TestAcc prefix", at, fn.Name.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d test functions found: the walk is not reading the project's tests", checked)
	}
}

func callsTerraform(body *ast.BlockStmt, alias string) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return !found
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == alias {
				switch sel.Sel.Name {
				case "Test", "UnitTest", "ParallelTest":
					found = true
				}
			}
		}
		return !found
	})
	return found
}
