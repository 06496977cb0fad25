package manifest

// hostPlatform: APFS and HFS+ are case-insensitive unless formatted
// otherwise, which few Macs are.
var hostPlatform = platform{foldCase: true}
