package phantom

import "math"

// gaussKernel returns the normalised Gaussian taps of standard deviation
// sigma pixels that blur applies (radius ceil(2 sigma)), or nil below
// sigma 0.05, where blur does nothing.
func gaussKernel(sigma float64) []float32 {
	if sigma < 0.05 {
		return nil
	}
	rad := int(math.Ceil(2 * sigma))
	k := make([]float32, 2*rad+1)
	var sum float32
	for i := range k {
		d := float64(i - rad)
		k[i] = float32(math.Exp(-d * d / (2 * sigma * sigma)))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}

// blur applies the separable Gaussian kernel k (from gaussKernel; nil
// does nothing), clamping at the borders; tmp must hold size*size values.
// Each output value sums its taps in kernel order, starting from zero.
func blur(img, tmp []float32, size int, k []float32) {
	if len(k) == 0 {
		return
	}
	rad := len(k) / 2
	// Horizontal: img -> tmp, row by row, each row first copied into pad
	// with its end values repeated rad times beyond either border, so
	// that every output value reads its taps from pad alone.
	var padBuf [160]float32
	pad := padBuf[:]
	if size+2*rad > len(pad) {
		pad = make([]float32, size+2*rad)
	}
	pad = pad[:size+2*rad]
	for y := 0; y < size; y++ {
		src, dst := img[y*size:(y+1)*size], tmp[y*size:(y+1)*size]
		copy(pad[rad:], src)
		for j := 0; j < rad; j++ {
			pad[j], pad[rad+size+j] = src[0], src[size-1]
		}
		blurInterior(dst, pad, k)
	}
	// Vertical: tmp -> img, a row from 2*rad+1 rows of tmp.
	var rows [9][]float32
	for y := 0; y < size; y++ {
		dst := img[y*size : (y+1)*size]
		if len(k) > len(rows) {
			clear(dst)
			for j, w := range k {
				sy := min(max(y+j-rad, 0), size-1)
				src := tmp[sy*size : (sy+1)*size]
				for x, v := range src {
					dst[x] += w * v
				}
			}
			continue
		}
		for j := range k {
			sy := min(max(y+j-rad, 0), size-1)
			rows[j] = tmp[sy*size : (sy+1)*size]
		}
		blurColumns(dst, rows[:len(k)], k)
	}
}

// blurInterior sets dst[i] to the kernel applied to src[i : i+len(k)],
// unrolled for the usual kernel lengths.
func blurInterior(dst, src []float32, k []float32) {
	switch len(k) {
	case 3:
		k0, k1, k2 := k[0], k[1], k[2]
		for i := range dst {
			w := src[i : i+3 : i+3]
			acc := float32(0)
			acc += k0 * w[0]
			acc += k1 * w[1]
			acc += k2 * w[2]
			dst[i] = acc
		}
	case 5:
		k0, k1, k2, k3, k4 := k[0], k[1], k[2], k[3], k[4]
		for i := range dst {
			w := src[i : i+5 : i+5]
			acc := float32(0)
			acc += k0 * w[0]
			acc += k1 * w[1]
			acc += k2 * w[2]
			acc += k3 * w[3]
			acc += k4 * w[4]
			dst[i] = acc
		}
	case 7:
		k0, k1, k2, k3, k4, k5, k6 := k[0], k[1], k[2], k[3], k[4], k[5], k[6]
		for i := range dst {
			w := src[i : i+7 : i+7]
			acc := float32(0)
			acc += k0 * w[0]
			acc += k1 * w[1]
			acc += k2 * w[2]
			acc += k3 * w[3]
			acc += k4 * w[4]
			acc += k5 * w[5]
			acc += k6 * w[6]
			dst[i] = acc
		}
	case 9:
		k0, k1, k2, k3, k4, k5, k6, k7, k8 := k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8]
		for i := range dst {
			w := src[i : i+9 : i+9]
			acc := float32(0)
			acc += k0 * w[0]
			acc += k1 * w[1]
			acc += k2 * w[2]
			acc += k3 * w[3]
			acc += k4 * w[4]
			acc += k5 * w[5]
			acc += k6 * w[6]
			acc += k7 * w[7]
			acc += k8 * w[8]
			dst[i] = acc
		}
	default:
		for i := range dst {
			w := src[i : i+len(k)]
			var acc float32
			for j, kj := range k {
				acc += kj * w[j]
			}
			dst[i] = acc
		}
	}
}

// blurColumns sets dst[x] to the sum over j of k[j]*rows[j][x], in
// order of j, starting from zero; unrolled for the usual kernel lengths.
func blurColumns(dst []float32, rows [][]float32, k []float32) {
	n := len(dst)
	switch len(k) {
	case 3:
		r0, r1, r2 := rows[0][:n], rows[1][:n], rows[2][:n]
		for x := range dst {
			acc := float32(0)
			acc += k[0] * r0[x]
			acc += k[1] * r1[x]
			acc += k[2] * r2[x]
			dst[x] = acc
		}
	case 5:
		r0, r1, r2, r3, r4 := rows[0][:n], rows[1][:n], rows[2][:n], rows[3][:n], rows[4][:n]
		k0, k1, k2, k3, k4 := k[0], k[1], k[2], k[3], k[4]
		for x := range dst {
			acc := float32(0)
			acc += k0 * r0[x]
			acc += k1 * r1[x]
			acc += k2 * r2[x]
			acc += k3 * r3[x]
			acc += k4 * r4[x]
			dst[x] = acc
		}
	case 7:
		r0, r1, r2, r3, r4, r5, r6 := rows[0][:n], rows[1][:n], rows[2][:n], rows[3][:n], rows[4][:n], rows[5][:n], rows[6][:n]
		k0, k1, k2, k3, k4, k5, k6 := k[0], k[1], k[2], k[3], k[4], k[5], k[6]
		for x := range dst {
			acc := float32(0)
			acc += k0 * r0[x]
			acc += k1 * r1[x]
			acc += k2 * r2[x]
			acc += k3 * r3[x]
			acc += k4 * r4[x]
			acc += k5 * r5[x]
			acc += k6 * r6[x]
			dst[x] = acc
		}
	case 9:
		r0, r1, r2, r3, r4 := rows[0][:n], rows[1][:n], rows[2][:n], rows[3][:n], rows[4][:n]
		r5, r6, r7, r8 := rows[5][:n], rows[6][:n], rows[7][:n], rows[8][:n]
		k0, k1, k2, k3, k4, k5, k6, k7, k8 := k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8]
		for x := range dst {
			acc := float32(0)
			acc += k0 * r0[x]
			acc += k1 * r1[x]
			acc += k2 * r2[x]
			acc += k3 * r3[x]
			acc += k4 * r4[x]
			acc += k5 * r5[x]
			acc += k6 * r6[x]
			acc += k7 * r7[x]
			acc += k8 * r8[x]
			dst[x] = acc
		}
	default:
		clear(dst)
		for j, w := range k {
			for x, v := range rows[j][:n] {
				dst[x] += w * v
			}
		}
	}
}

// enhance applies the vendor's unsharp masking: img + amount*(img -
// blurred img), the blur's scale a fixed share of the field of view (k,
// gaussKernel(size/40)).
func enhance(img, tmp, low []float32, size int, amount float64, k []float32) {
	if amount <= 0 {
		return
	}
	copy(low, img)
	blur(low, tmp, size, k)
	ka := float32(amount)
	for i := range img {
		img[i] += ka * (img[i] - low[i])
	}
}
