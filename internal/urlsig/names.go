package urlsig

// Names lists every parameter name of the v1 contract, sorted bytewise, which
// is the order they appear in a canonical query. "s" is not among them: it is
// always last and outside the sort.
var Names = [...]string{
	"auto", "bg", "blur", "dpr", "enlarge", "exp", "fit", "flip", "fm",
	"h", "position", "q", "rot", "sharpen", "v", "w",
}

// MaxParams is the most parameters a canonical URL can carry.
const MaxParams = len(Names)

// Known reports whether name is a v1 parameter name.
func Known(name string) bool {
	switch name {
	case "auto", "bg", "blur", "dpr", "enlarge", "exp", "fit", "flip", "fm",
		"h", "position", "q", "rot", "sharpen", "v", "w":
		return true
	}
	return false
}
