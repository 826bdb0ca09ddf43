"""The feature matrix A[j, i] = φ(ωᵢ, xⱼ) as a linear operator (docs: theory/particles).

VarPro touches A only through four products, so a feature map may supply them in any
way that is exact:

* ``forward(u)`` = A u                      (N,)
* ``adjoint(v)`` = (Aᵀv/N, (∇_ωA)ᵀv/N)      (M,), (M, dim)
* ``normal(v)``  = AᵀA v/N                   (M,)
* ``gram()``     = AᵀA/N                     (M, M), for preconditioning

and ``residual(z, y, divisor)`` = (r = y − Az/divisor, Aᵀr/N, (∇_ωA)ᵀr/N), which an operator
may fuse into one pass (by default: ``forward`` then ``adjoint``).  An operator may also
offer ``approximate``: the same operator with A rounded to single precision, whose
``normal`` and ``gram`` are about twice as cheap; the projection then iterates on it and
measures every residual with the exact one (:class:`~pdeflow.particles.Projection`).

Atoms have shape ``(M, dim)``; feature maps on a 1-D space also take ``(M,)``.

:class:`DenseOperator` stores A and ∇_ωA (O(MN) per step).  :class:`SortedReLUCircle` uses
that on the circle φ(ω, x) = |x| max(0, cos(ω − θ_x)): every sum over the data (or the
particles) inside a half-circle is a difference of prefix sums over angles sorted once,
so products cost O((M + N) log) and the Gram matrix O(M²) instead of O(M²N).
:class:`GramOperator` is A at atoms that never move (the cell centres of a grid): it keeps
G = AᵀA/N and AᵀY/N (:func:`fixed_atoms`), so its products never touch the N data again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from ..sums import compensated_cumsum


@dataclass(frozen=True)
class ResidualTerms:
    """What one pass over A gives for weights z and labels y (docs: theory/particles).

    Attributes
    ----------
    resid : ndarray, shape (N,)
        r = y − Az/divisor.
    adjoint : ndarray, shape (M,)
        Aᵀr/N.
    gradient : ndarray, shape (M, dim), or None
        (∇_ωA)ᵀr/N, i.e. (1/N)Σⱼ rⱼ ∇_ωφ(ωᵢ, xⱼ); ``None`` when not asked for.
    data_term : ndarray, shape (M,), or None
        Aᵀy/N, when the pass gives it for free.
    """

    resid: np.ndarray
    adjoint: np.ndarray
    gradient: np.ndarray | None
    data_term: np.ndarray | None = None


class FeatureOperator:
    """A at one configuration ω; see the module docstring for the four products."""

    shape: tuple[int, int]
    #: The operator with A in single precision, when it has one (see the module docstring).
    approximate: "FeatureOperator | None" = None

    def residual(self, z: np.ndarray, y: np.ndarray, divisor: float = 1.0,
                 gradient: bool = True) -> ResidualTerms:
        """r = y − Az/divisor with Aᵀr/N and (∇_ωA)ᵀr/N (shapes (N,), (M,), (M, dim))."""
        resid = y - self.forward(z) / divisor
        h, grad = self.adjoint(resid)
        return ResidualTerms(resid, h, grad)

    def forward(self, u: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def adjoint(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def normal(self, v: np.ndarray) -> np.ndarray:
        return self.adjoint(self.forward(v))[0]

    def gram(self) -> np.ndarray:
        raise NotImplementedError


class DenseOperator(FeatureOperator):
    """A and ∇_ωA held as arrays, ``A`` of shape (N, M), ``dA`` of shape (dim, N, M)."""

    def __init__(self, A: np.ndarray, dA: np.ndarray):
        self.A, self.dA = A, dA
        self.shape = A.shape

    def forward(self, u):
        return self.A @ u

    def adjoint(self, v):
        n = self.shape[0]
        return self.A.T @ v / n, np.stack([d.T @ v for d in self.dA], axis=1) / n

    def normal(self, v):
        return self.A.T @ (self.A @ v) / self.shape[0]

    def gram(self):
        g = self.A.T @ self.A
        g /= self.shape[0]
        return g


class DenseFeatures:
    """ω ↦ :class:`DenseOperator` for any :class:`~pdeflow.particles.FeatureMap`.

    The arrays are reused from call to call (a fresh 2×N×M allocation per step costs page
    faults comparable to the arithmetic), so an operator is valid until the next call.
    """

    def __init__(self, feature, x: np.ndarray):
        self.feature = feature
        self.x = np.ascontiguousarray(x, dtype=float)
        self._buffers: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, omega: np.ndarray) -> DenseOperator:
        omega = _atoms_for(self.feature.dim, omega)
        n, m = self.x.shape[0], omega.shape[0]
        if self._buffers is None or self._buffers[0].shape != (n, m):
            self._buffers = (np.empty((n, m)), np.empty((self.feature.dim, n, m)))
        A, dA = self._buffers
        self.feature.fill(np.ascontiguousarray(omega, dtype=float), self.x, A, dA)
        return DenseOperator(A, dA)


def _prefix(q: np.ndarray) -> np.ndarray:
    """Prefix sums of q repeated twice (arcs may wrap past 2π), length 2·len(q) + 1, complex."""
    q2 = np.concatenate([q, q])
    re = np.empty(q2.size + 1)
    im = np.empty(q2.size + 1)
    compensated_cumsum(np.ascontiguousarray(q2.real), re)
    compensated_cumsum(np.ascontiguousarray(q2.imag), im)
    return re + 1j * im


@nb.njit(cache=True, parallel=True)
def relu_circle_gram(cos_w, sin_w, start, first, last, n_data, p0, p2_re, p2_im, out):
    """out[i, k] = Σⱼ rⱼ² max(0, cos(ωᵢ−θⱼ)) max(0, cos(ω_k−θⱼ)) / N.

    The product is nonzero on the intersection of the two half-circles, which runs from the
    opening of the later one to the closing of the earlier one; there
    cos(a−θ)cos(b−θ) = ½[cos(a−b) + Re e^{i(a+b)} e^{−2iθ}], so the sum is read off the prefix
    sums p0 of r² and p2 of r² e^{−2iθ} over the sorted (doubled) data angles.
    ``first[i]``/``last[i]`` index the opening/closing of half-circle i, ``start[i]`` its opening angle.
    """
    m = cos_w.size
    for row in nb.prange(m):
        i = np.int64(row)  # prange's index type does not unify with range's
        # full rows rather than a triangle: row-major writes beat halving the work
        for k in range(m):
            if cos_w[i] * sin_w[k] - sin_w[i] * cos_w[k] >= 0.0:  # ω_k within a half-turn ahead of ωᵢ
                early, late = i, k
            else:
                early, late = k, i
            a = first[late]
            b = last[early]
            if start[late] < start[early]:
                b -= n_data  # the arc closes one turn earlier in the doubled sequence
            s0 = p0[b] - p0[a]
            s2r = p2_re[b] - p2_re[a]
            s2i = p2_im[b] - p2_im[a]
            c_diff = cos_w[i] * cos_w[k] + sin_w[i] * sin_w[k]
            c_sum = cos_w[i] * cos_w[k] - sin_w[i] * sin_w[k]
            s_sum = sin_w[i] * cos_w[k] + cos_w[i] * sin_w[k]
            g = 0.5 * (c_diff * s0 + c_sum * s2r - s_sum * s2i) / n_data
            out[i, k] = g


@nb.njit(cache=True)
def _arc_sums(q_re, q_im, order, first, last, out_re, out_im):
    """out[k] = Σ q[order[l]] over l ∈ [first[k], last[k]) of the doubled (two-turn) sequence.

    Prefix sums of one turn by :func:`compensated_cumsum`; an index n + l of the second turn
    reads the total of the first plus the prefix up to l.
    """
    n = order.size
    p_re = np.empty(n + 1)
    p_im = np.empty(n + 1)
    compensated_cumsum(q_re[order], p_re)
    compensated_cumsum(q_im[order], p_im)
    s_re, s_im = p_re[n], p_im[n]
    for k in range(first.size):
        a, b = first[k], last[k]
        lo_re, lo_im = (p_re[a], p_im[a]) if a <= n else (s_re + p_re[a - n], s_im + p_im[a - n])
        hi_re, hi_im = (p_re[b], p_im[b]) if b <= n else (s_re + p_re[b - n], s_im + p_im[b - n])
        out_re[k] = hi_re - lo_re
        out_im[k] = hi_im - lo_im


@nb.njit(cache=True)
def relu_circle_forward(u, cos_w, sin_w, order, first, last, phase_re, phase_im, out):
    """out[j] = Re(rⱼe^{−iθⱼ} Σ_{i: |ωᵢ−θⱼ|<π/2} uᵢe^{iωᵢ}) = Σᵢ uᵢ rⱼ max(0, cos(ωᵢ − θⱼ)) = (Au)ⱼ."""
    arc_re = np.empty(first.size)
    arc_im = np.empty(first.size)
    _arc_sums(u * cos_w, u * sin_w, order, first, last, arc_re, arc_im)
    for j in range(out.size):
        out[j] = phase_re[j] * arc_re[j] - phase_im[j] * arc_im[j]


@nb.njit(cache=True)
def relu_circle_adjoint(v, phase_re, phase_im, order, first, last, cos_w, sin_w, h, grad):
    """h[i] = (Aᵀv)ᵢ/N and grad[i] = ((∂_ωA)ᵀv)ᵢ/N, the real and minus the imaginary part of
    e^{iωᵢ} Σ_{j: |θⱼ−ωᵢ|<π/2} vⱼrⱼe^{−iθⱼ} / N."""
    n = phase_re.size
    arc_re = np.empty(first.size)
    arc_im = np.empty(first.size)
    _arc_sums(v * phase_re, v * phase_im, order, first, last, arc_re, arc_im)
    for i in range(h.size):
        h[i] = (cos_w[i] * arc_re[i] - sin_w[i] * arc_im[i]) / n
        grad[i] = -(cos_w[i] * arc_im[i] + sin_w[i] * arc_re[i]) / n


_TWO_PI = 2.0 * np.pi


def _atoms_for(dim: int, omega) -> np.ndarray:
    """Atoms as the feature kernels take them: ``(M,)`` for a 1-D feature space, else ``(M, dim)``.

    Both ``(M,)`` and ``(M, 1)`` are accepted in 1-D, so callers may keep one point shape
    ``(M, d)`` throughout.
    """
    omega = np.asarray(omega, dtype=float)
    if dim == 1 and omega.ndim == 2 and omega.shape[1] == 1:
        return omega[:, 0]
    return omega


def _sorted_search(table: np.ndarray, keys: np.ndarray, order: np.ndarray) -> np.ndarray:
    """np.searchsorted(table, keys), the keys visited in ``order`` (an order that (nearly) sorts them)."""
    out = np.empty(keys.size, dtype=np.int64)
    out[order] = np.searchsorted(table, keys[order])
    return out


class SortedReLUCircle:
    """ω ↦ :class:`SortedReLUOperator` for φ(ω, x) = max(0, x₁cos ω + x₂sin ω) (docs: theory/particles).

    Built once per data set: the data angles θⱼ sorted, |xⱼ|, and prefix sums for the Gram matrix.
    """

    def __init__(self, x: np.ndarray):
        x = np.asarray(x, dtype=float)
        self.n = x.shape[0]
        self.radius = np.hypot(x[:, 0], x[:, 1])
        self.theta = np.mod(np.arctan2(x[:, 1], x[:, 0]), _TWO_PI)
        self.order = np.argsort(self.theta, kind="stable")
        sorted_theta = self.theta[self.order]
        self.theta2 = np.concatenate([sorted_theta, sorted_theta + _TWO_PI])
        phase = self.radius * np.exp(-1j * self.theta)                # rⱼ e^{−iθⱼ}
        self.phase_re, self.phase_im = np.ascontiguousarray(phase.real), np.ascontiguousarray(phase.imag)
        r2 = self.radius[self.order] ** 2
        p0 = _prefix(r2.astype(complex)).real
        p2 = _prefix(r2 * np.exp(-2j * sorted_theta))
        self._p0, self._p2_re, self._p2_im = p0, np.ascontiguousarray(p2.real), np.ascontiguousarray(p2.imag)
        # each datum sees the particles in the half-circle ω ∈ [θⱼ − π/2, θⱼ + π/2)
        self.data_start = np.mod(self.theta - 0.5 * np.pi, _TWO_PI)
        # binary searches run several times faster on sorted keys (each starts where the last ended)
        self.start_order = np.argsort(self.data_start, kind="stable")

    def __call__(self, omega: np.ndarray) -> "SortedReLUOperator":
        return SortedReLUOperator(self, _atoms_for(1, omega))


class SortedReLUOperator(FeatureOperator):
    """A for the ReLU on the circle at one ω, through sorted-angle prefix sums."""

    def __init__(self, data: SortedReLUCircle, omega: np.ndarray):
        if omega.ndim != 1:
            raise ValueError(f"circle particles must have shape (M,), got {omega.shape}")
        self.data = data
        self.shape = (data.n, omega.size)
        self.cos_w, self.sin_w = np.cos(omega), np.sin(omega)
        # particle i sees the data in θ ∈ [ωᵢ − π/2, ωᵢ + π/2)
        self.start = np.mod(omega - 0.5 * np.pi, _TWO_PI)
        w = np.mod(omega, _TWO_PI)
        self.order = np.argsort(w, kind="stable")
        self.first = _sorted_search(data.theta2, self.start, self.order)
        self.last = _sorted_search(data.theta2, self.start + np.pi, self.order)
        w2 = np.concatenate([w[self.order], w[self.order] + _TWO_PI])
        self.data_first = _sorted_search(w2, data.data_start, data.start_order)
        self.data_last = _sorted_search(w2, data.data_start + np.pi, data.start_order)

    def forward(self, u):
        d = self.data
        out = np.empty(d.n)
        relu_circle_forward(np.asarray(u, dtype=float), self.cos_w, self.sin_w, self.order,
                            self.data_first, self.data_last, d.phase_re, d.phase_im, out)
        return out

    def adjoint(self, v):
        d = self.data
        m = self.shape[1]
        h, grad = np.empty(m), np.empty((m, 1))
        relu_circle_adjoint(np.asarray(v, dtype=float), d.phase_re, d.phase_im, d.order,
                            self.first, self.last, self.cos_w, self.sin_w, h, grad[:, 0])
        return h, grad

    def gram(self):
        d = self.data
        m = self.shape[1]
        out = np.empty((m, m))
        relu_circle_gram(self.cos_w, self.sin_w, self.start, self.first, self.last, d.n,
                         d._p0, d._p2_re, d._p2_im, out)
        return out


class GramOperator(FeatureOperator):
    """A at atoms that never move, through G = AᵀA/N (shape ``(M, M)``).

    ``normal(v) = G v`` costs O(M²) and never touches the data.  A feature map with structure
    may offer a cheaper exact product: the sorted ReLU on the circle gives AᵀAv/N in
    O(N + M) (two prefix-sum passes), against M² for the dense product.  ``structured`` is
    that operator, used when M² > :data:`STRUCTURED_RATIO`·(N + M).  ``gram()`` returns a copy
    of G.  The data products (``forward``, ``adjoint``) are not offered: what the data
    contribute is fixed and kept beside G (:class:`FixedAtoms`).
    """

    def __init__(self, gram: np.ndarray, n_data: int, structured: FeatureOperator | None = None):
        self.G = gram
        self.shape = (int(n_data), gram.shape[0])
        m = gram.shape[0]
        self._structured = structured if structured is not None and m * m > STRUCTURED_RATIO * (n_data + m) else None

    def normal(self, v):
        if self._structured is not None:
            return self._structured.normal(v)
        return self.G @ v

    def gram(self):
        return self.G.copy()

    def forward(self, u):
        raise NotImplementedError("GramOperator keeps AᵀA/N only; bind the feature map to the data for Au")

    def adjoint(self, v):
        raise NotImplementedError("GramOperator keeps AᵀA/N only; bind the feature map to the data for Aᵀv")


#: Dense M² products lose to a structured O(N + M) one above this ratio.  Measured on the
#: circle with N = 4096 (one core): the dense product takes 29 µs at M = 512 and 146 µs at
#: M = 1024, the sorted ReLU product 55 µs and 64 µs (mostly fixed call overhead).
STRUCTURED_RATIO = 100.0


@dataclass(frozen=True)
class FixedAtoms:
    """What the data contribute at fixed atoms ωᵢ (a grid's cell centres), computed once.

    Attributes
    ----------
    gram : ndarray, shape (M, M)
        G = AᵀA/N, A[j, i] = φ(ωᵢ, xⱼ).
    data_term : ndarray, shape (M,)
        AᵀY/N.
    data_energy : float
        ‖Y‖²/N, so that ‖Az − Y‖²/N = zᵀGz − 2zᵀAᵀY/N + ‖Y‖²/N for any z without the data.
    n_data : int
        N.
    structured : FeatureOperator or None
        The feature map's own operator at the atoms, when it has a fast product.
    """

    gram: np.ndarray
    data_term: np.ndarray
    data_energy: float
    n_data: int
    structured: FeatureOperator | None = None

    @property
    def operator(self) -> GramOperator:
        return GramOperator(self.gram, self.n_data, self.structured)


def fixed_atoms(feature, x: np.ndarray, y: np.ndarray, atoms: np.ndarray,
                chunk: int = 1024) -> FixedAtoms:
    """G = AᵀA/N, AᵀY/N and ‖Y‖²/N at ``atoms`` (shape ``(M, dim)`` or ``(M,)``) for data (x, y).

    A feature map whose bound operator has structure (the sorted ReLU on the circle: Gram
    matrix in O(M²) rather than O(M²N)) is used as is; otherwise A is filled by blocks of
    ``chunk`` data, so memory stays O(M·chunk) instead of the (1 + dim)·N·M of the dense operator.
    """
    x = np.ascontiguousarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    atoms = _atoms_for(feature.dim, atoms)
    n, m = x.shape[0], atoms.shape[0]
    bound = feature.bind(x)
    if not isinstance(bound, DenseFeatures):
        op = bound(atoms)
        return FixedAtoms(op.gram(), op.adjoint(y)[0], float(y @ y) / n, n, op)
    gram = np.zeros((m, m))
    data_term = np.zeros(m)
    for start in range(0, n, chunk):
        A, _ = feature.evaluate(atoms, x[start:start + chunk])
        gram += A.T @ A
        data_term += A.T @ y[start:start + chunk]
    return FixedAtoms(gram / n, data_term / n, float(y @ y) / n, n)
