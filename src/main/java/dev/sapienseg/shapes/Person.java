package dev.sapienseg.shapes;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One person of {@link Persons#split}: ids from 1, the largest first.
 *
 * @param rle the person's mask; null where a summary leaves it out (the instances picture holds it)
 * @param classes the classes of the person's pixels, by id
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Person(int id, Box bbox, long pixels, Rle rle, List<ClassPixels> classes) {

    public record ClassPixels(int id, long pixels) {
    }

    /** This person without the mask. */
    public Person withoutRle() {
        return new Person(id, bbox, pixels, null, classes);
    }
}
