class_name DemoScreen
extends Control
## Base of the demo's screens: [DemoMain] sets [member main] and [member session] before the
## screen enters the tree.

## The main scene, to switch screens.
var main: DemoMain = null
## The multiplayer session shared by all screens.
var session: DemoSession = null
