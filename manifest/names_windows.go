package manifest

// hostPlatform: Windows holds neither device names nor two names that
// differ only in case.
var hostPlatform = platform{windowsNames: true, foldCase: true}
