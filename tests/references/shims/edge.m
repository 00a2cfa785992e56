function e = edge (im, varargin)
  % Shim for MATLAB's default EDGE(I) (Sobel, automatic threshold, thinning), which
  % Tang's analysis_fmi calls on 0-255 doubles. Octave's image package EDGE rejects
  % doubles outside [0, 1] and thins differently, so this replaces it for the reference
  % run. Only the one-argument form is implemented.
  %   bx, by: I correlated with fspecial('sobel')' / 8 and fspecial('sobel') / 8, replicate
  %   padding; b = bx.^2 + by.^2; cutoff = 4 * mean(b(:)); an edge pixel has b > cutoff and is
  %   a maximum of b across the dominant gradient direction: along the row when
  %   |bx| >= |by| - 100 eps (left neighbour <= b, right neighbour < b), along the column when
  %   |by| >= |bx| - 100 eps (upper neighbour <= b, lower neighbour < b); a neighbour outside
  %   the image always passes.
  if (nargin != 1)
    error ('edge shim: only edge(I) is implemented');
  end
  a = double (im);
  sobel = [1 2 1; 0 0 0; -1 -2 -1] / 8;
  bx = imfilter (a, sobel', 'replicate');
  by = imfilter (a, sobel, 'replicate');
  b = bx .* bx + by .* by;
  cutoff = 4 * sum (b(:)) / numel (b);
  [m, n] = size (b);
  left = [true(m, 1), b(:, 1:n-1) <= b(:, 2:n)];
  right = [b(:, 1:n-1) > b(:, 2:n), true(m, 1)];
  up = [true(1, n); b(1:m-1, :) <= b(2:m, :)];
  down = [b(1:m-1, :) > b(2:m, :); true(1, n)];
  bx = abs (bx);
  by = abs (by);
  tol = 100 * eps;
  e = (b > cutoff) & (((bx >= by - tol) & left & right) | ((by >= bx - tol) & up & down));
end
