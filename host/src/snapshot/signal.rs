//! On-demand snapshot requests (filled in next).
