//! Rasterisation of the simple shapes the synthetic scenes are drawn from. A pixel (x, y)
//! belongs to a shape when its centre (x + 0.5, y + 0.5) does; each shape visits only the
//! pixels of its bounding box, clipped to the image.

/// A shape in pixel coordinates (x to the right, y down).
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Rectangle centred on (cx, cy) with half-length `hl` along direction `theta` (radians
    /// from the x axis) and half-width `hw` across it.
    Rect {
        cx: f32,
        cy: f32,
        hl: f32,
        hw: f32,
        theta: f32,
    },
    /// Disc of radius `r`.
    Disc { cx: f32, cy: f32, r: f32 },
    /// Annulus `r_in <= d <= r_out`.
    Ring {
        cx: f32,
        cy: f32,
        r_in: f32,
        r_out: f32,
    },
    /// Thick segment: points within `hw` of the segment from (x0, y0) to (x1, y1).
    Segment {
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
        hw: f32,
    },
}

impl Shape {
    /// Axis-aligned bounding box `(xmin, ymin, xmax, ymax)` in continuous coordinates.
    fn bbox(&self) -> (f32, f32, f32, f32) {
        match *self {
            Shape::Rect {
                cx,
                cy,
                hl,
                hw,
                theta,
            } => {
                let (s, c) = theta.sin_cos();
                let ex = hl * c.abs() + hw * s.abs();
                let ey = hl * s.abs() + hw * c.abs();
                (cx - ex, cy - ey, cx + ex, cy + ey)
            }
            Shape::Disc { cx, cy, r } => (cx - r, cy - r, cx + r, cy + r),
            Shape::Ring { cx, cy, r_out, .. } => (cx - r_out, cy - r_out, cx + r_out, cy + r_out),
            Shape::Segment { x0, y0, x1, y1, hw } => (
                x0.min(x1) - hw,
                y0.min(y1) - hw,
                x0.max(x1) + hw,
                y0.max(y1) + hw,
            ),
        }
    }

    /// Whether the point (px, py) lies in the shape.
    pub fn contains(&self, px: f32, py: f32) -> bool {
        match *self {
            Shape::Rect {
                cx,
                cy,
                hl,
                hw,
                theta,
            } => {
                let (s, c) = theta.sin_cos();
                let (dx, dy) = (px - cx, py - cy);
                let u = dx * c + dy * s;
                let v = -dx * s + dy * c;
                u.abs() <= hl && v.abs() <= hw
            }
            Shape::Disc { cx, cy, r } => {
                let (dx, dy) = (px - cx, py - cy);
                dx * dx + dy * dy <= r * r
            }
            Shape::Ring {
                cx,
                cy,
                r_in,
                r_out,
            } => {
                let (dx, dy) = (px - cx, py - cy);
                let d2 = dx * dx + dy * dy;
                d2 <= r_out * r_out && d2 >= r_in * r_in
            }
            Shape::Segment { x0, y0, x1, y1, hw } => {
                let (vx, vy) = (x1 - x0, y1 - y0);
                let len2 = vx * vx + vy * vy;
                let t = if len2 > 0.0 {
                    (((px - x0) * vx + (py - y0) * vy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (dx, dy) = (px - (x0 + t * vx), py - (y0 + t * vy));
                dx * dx + dy * dy <= hw * hw
            }
        }
    }

    /// Calls `f(index)` for every pixel of a `size` x `size` image (row-major index
    /// `y * size + x`) whose centre lies in the shape.
    pub fn for_each_pixel(&self, size: usize, mut f: impl FnMut(usize)) {
        let (x0, y0, x1, y1) = self.bbox();
        let clip = |v: f32| -> usize { (v.max(0.0) as usize).min(size) };
        let (xa, ya) = (clip(x0.floor()), clip(y0.floor()));
        let (xb, yb) = (clip(x1.ceil() + 1.0), clip(y1.ceil() + 1.0));
        for y in ya..yb {
            for x in xa..xb {
                if self.contains(x as f32 + 0.5, y as f32 + 0.5) {
                    f(y * size + x);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(shape: Shape, size: usize) -> usize {
        let mut n = 0;
        shape.for_each_pixel(size, |_| n += 1);
        n
    }

    #[test]
    fn axis_aligned_rect_covers_its_area() {
        let r = Shape::Rect {
            cx: 10.0,
            cy: 10.0,
            hl: 4.0,
            hw: 2.0,
            theta: 0.0,
        };
        assert_eq!(count(r, 20), 8 * 4);
        let rotated = Shape::Rect {
            cx: 10.0,
            cy: 10.0,
            hl: 4.0,
            hw: 2.0,
            theta: std::f32::consts::FRAC_PI_2,
        };
        assert_eq!(count(rotated, 20), 32);
        assert!(rotated.contains(10.5, 13.5) && !rotated.contains(13.5, 10.5));
    }

    #[test]
    fn disc_area_is_close_to_pi_r_squared_and_clipped_at_borders() {
        let d = Shape::Disc {
            cx: 50.0,
            cy: 50.0,
            r: 10.0,
        };
        let n = count(d, 100) as f32;
        assert!((n - std::f32::consts::PI * 100.0).abs() < 10.0, "{n}");
        let corner = Shape::Disc {
            cx: 0.0,
            cy: 0.0,
            r: 10.0,
        };
        let m = count(corner, 100) as f32;
        assert!((m - std::f32::consts::PI * 25.0).abs() < 8.0, "{m}");
        let outside = Shape::Disc {
            cx: -50.0,
            cy: 500.0,
            r: 3.0,
        };
        assert_eq!(count(outside, 100), 0);
    }

    #[test]
    fn segment_is_a_thick_line() {
        let s = Shape::Segment {
            x0: 0.0,
            y0: 6.0,
            x1: 20.0,
            y1: 6.0,
            hw: 1.0,
        };
        // rows 5 and 6 have centres (5.5, 6.5) within 1.0 of y = 6; rows 4 and 7 (4.5, 7.5)
        // do not -> 2 rows x 20 columns.
        assert_eq!(count(s, 20), 40);
        let ring = Shape::Ring {
            cx: 10.0,
            cy: 10.0,
            r_in: 3.0,
            r_out: 4.0,
        };
        assert!(!ring.contains(10.0, 10.0));
        assert!(ring.contains(13.5, 10.0));
    }
}
