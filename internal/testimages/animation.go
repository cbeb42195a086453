package testimages

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
)

// FrameColours are the colours of QuadrantAnimation's frames' top-left
// quadrant, frame by frame.
var FrameColours = []color.RGBA{{255, 0, 0, 255}, {0, 0, 255, 255}, {0, 160, 0, 255}}

// QuadrantAnimationN is QuadrantAnimation with n frames, the colours
// cycling, each delayed 100 ms, looping forever.
func QuadrantAnimationN(w, h, n int) []byte {
	return quadrantAnimation(w, h, n, 0, func(int) int { return 10 })
}

// QuadrantAnimation is a w x h animated GIF of three frames, each split in
// quadrants: the top-left is the frame's colour from FrameColours, the top
// right white, the bottom half black. Delays are 10, 20 and 30
// hundredths of a second; it loops loops times (0: forever).
func QuadrantAnimation(w, h, loops int) []byte {
	return quadrantAnimation(w, h, len(FrameColours), loops, func(i int) int { return 10 * (i + 1) })
}

// quadrantAnimation draws n frames, frame i's coloured quadrant in
// FrameColours[i%3], delayed delay(i) hundredths of a second.
func quadrantAnimation(w, h, n, loops int, delay func(i int) int) []byte {
	pal := color.Palette{color.Black, color.White, FrameColours[0], FrameColours[1], FrameColours[2]}
	anim := &gif.GIF{LoopCount: loops}
	for i := range n {
		img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		for y := 0; y < h/2; y++ {
			for x := 0; x < w; x++ {
				c := uint8(1)
				if x < w/2 {
					c = uint8(2 + i%len(FrameColours))
				}
				img.SetColorIndex(x, y, c)
			}
		}
		anim.Image = append(anim.Image, img)
		anim.Delay = append(anim.Delay, delay(i))
		anim.Disposal = append(anim.Disposal, gif.DisposalNone)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, anim); err != nil {
		panic(err)
	}
	return b.Bytes()
}
