function [a, h, v, d] = dwt2 (x, wname)
  % Shim for MATLAB's DWT2(X, 'dmey') with the default extension mode 'sym' (half-point
  % symmetric, repeated for extensions longer than the signal) and no shift, which Tang's
  % analysis_fmi calls; Octave has no DWT2. The 102 discrete Meyer taps are read from
  % MATLAB's own dmey.mat (path in the environment variable IVIF_DMEY_MAT). As MATLAB's
  % wfilters/orthfilt: W = dmey / sum(dmey), Lo_R = sqrt(2) W, Hi_R = qmf(Lo_R) (reversed,
  % every second tap negated starting at the second), Lo_D, Hi_D = the reversed filters.
  % Rows are filtered first ('valid' conv2 of the column-extended image, keep the even
  % columns 2:2:n+lf-1), then columns (same with the row extension, rows 2:2:m+lf-1).
  if (! strcmp (wname, 'dmey'))
    error ('dwt2 shim: only ''dmey'' is implemented');
  end
  taps = load (getenv ('IVIF_DMEY_MAT'));
  w = taps.dmey;
  w = w / sum (w);
  lo_r = sqrt (2) * w;
  hi_r = lo_r(end:-1:1);
  hi_r(2:2:end) = -hi_r(2:2:end);
  lo_d = lo_r(end:-1:1);
  hi_d = hi_r(end:-1:1);
  lf = numel (lo_d);
  [m, n] = size (x);
  y = double (x)(:, sym_index (n, lf - 1));
  lo = conv2 (y, lo_d(:)', 'valid')(:, 2:2:n + lf - 1);
  hi = conv2 (y, hi_d(:)', 'valid')(:, 2:2:n + lf - 1);
  rows = sym_index (m, lf - 1);
  a = conv2 (lo(rows, :), lo_d(:), 'valid')(2:2:m + lf - 1, :);
  h = conv2 (lo(rows, :), hi_d(:), 'valid')(2:2:m + lf - 1, :);
  v = conv2 (hi(rows, :), lo_d(:), 'valid')(2:2:m + lf - 1, :);
  d = conv2 (hi(rows, :), hi_d(:), 'valid')(2:2:m + lf - 1, :);
end

function idx = sym_index (len, ext)
  % Indices of a half-point symmetric extension by ext on both sides.
  idx = [ext:-1:1, 1:len, len:-1:len - ext + 1];
  while (any (idx < 1 | idx > len))
    low = idx < 1;
    idx(low) = 1 - idx(low);
    high = idx > len;
    idx(high) = 2 * len + 1 - idx(high);
  end
end
