package dev.sapienseg.shapes;

/** A bounding box in pixels of the original picture, inclusive-exclusive: {@code x..x+width, y..y+height}. */
public record Box(int x, int y, int width, int height) {
}
