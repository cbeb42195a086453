package imagefmt

import "encoding/binary"

// metaBox returns the payload of the top-level meta box of an ISOBMFF file
// that passed Check, or nil.
func metaBox(b []byte) []byte {
	top := boxes{b: b, overrun: truncated}
	for {
		typ, payload, ok := top.next()
		if !ok {
			return nil
		}
		if string(typ) == "meta" {
			return payload
		}
	}
}

// metaChild returns the payload of the first box of type typ inside meta.
func metaChild(meta []byte, typ string) []byte {
	_, _, body, err := fullBox(meta)
	if err != nil {
		return nil
	}
	it := boxes{b: body, overrun: corrupt}
	for {
		t, payload, ok := it.next()
		if !ok {
			return nil
		}
		if string(t) == typ {
			return payload
		}
	}
}

// eachItem calls fn with the ID and type of every entry of an iinf box
// (ISO/IEC 14496-12, 8.11.6; only infe versions 2 and 3 carry a type).
func eachItem(iinf []byte, fn func(id uint32, typ []byte)) error {
	v, _, body, err := fullBox(iinf)
	if err != nil {
		return err
	}
	if v == 0 {
		if len(body) < 2 {
			return corrupt("iinf: too short")
		}
		body = body[2:]
	} else {
		if len(body) < 4 {
			return corrupt("iinf: too short")
		}
		body = body[4:]
	}
	it := boxes{b: body, overrun: corrupt}
	for {
		typ, payload, ok := it.next()
		if !ok {
			return it.err
		}
		if string(typ) != "infe" {
			continue
		}
		iv, _, e, err := fullBox(payload)
		if err != nil {
			return err
		}
		switch {
		case iv == 2 && len(e) >= 8:
			fn(uint32(binary.BigEndian.Uint16(e)), e[4:8])
		case iv == 3 && len(e) >= 10:
			fn(binary.BigEndian.Uint32(e), e[6:10])
		case iv >= 2:
			return corrupt("infe: too short")
		}
	}
}

// hasMetadataItems reports whether an AVIF or HEIC file carries an Exif or
// XMP (mime) item, or cannot be read well enough to tell.
func hasMetadataItems(b []byte) bool {
	iinf := metaChild(metaBox(b), "iinf")
	if iinf == nil {
		return true
	}
	found := false
	err := eachItem(iinf, func(_ uint32, typ []byte) {
		if t := string(typ); t == "Exif" || t == "mime" || t == "uri " {
			found = true
		}
	})
	return found || err != nil
}
