package imagefmt

import "encoding/binary"

// pngKept lists the ancillary chunks that stay: colour (gAMA, cHRM, sRGB,
// iCCP, sBIT), transparency and background, pixel density, and APNG's
// animation. Critical chunks always stay. Everything else goes: tEXt, zTXt
// and iTXt (XMP, comments, authors), eXIf, tIME, and private chunks whose
// content nobody can vouch for.
var pngKept = map[string]bool{
	"tRNS": true, "gAMA": true, "cHRM": true, "sRGB": true, "iCCP": true, "sBIT": true,
	"bKGD": true, "pHYs": true, "acTL": true, "fcTL": true, "fdAT": true,
}

// stripPNG drops every chunk pngKept does not list, and bytes after IEND.
func stripPNG(b []byte) ([]byte, bool) {
	k := keeper{src: b}
	for pos := len(pngSignature); len(b)-pos >= 12; {
		n := int(binary.BigEndian.Uint32(b[pos:]))
		typ := string(b[pos+4 : pos+8])
		end := pos + 12 + n
		if n < 0 || end > len(b) {
			return nil, false
		}
		if typ == "eXIf" && !upright(b[pos+8:pos+8+n]) {
			return nil, false
		}
		if typ[0]&0x20 != 0 && !pngKept[typ] {
			k.drop(pos, end)
		}
		if typ == "IEND" {
			if end < len(b) {
				k.drop(end, len(b))
			}
			return k.result(), true
		}
		pos = end
	}
	return nil, false
}
