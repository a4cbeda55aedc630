package dev.sapienseg.shapes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.CocoMasks;

class PersonsTest {

    private static final int W = 100;
    private static final int H = 60;

    @Test
    void separatePeopleAreNumberedBySizeWithTheirClassesAndMasks() {
        byte[] map = new byte[W * H];
        fill(map, 5, 5, 20, 50, 2);   // a smaller person on the left: 20 × 50
        fill(map, 5, 30, 20, 10, 11); //   with a face
        fill(map, 50, 5, 40, 50, 3);  // the larger one on the right: 40 × 50
        Persons.Split split = Persons.split(map, W, H, 28, 0.002, 1_000_000);
        List<Person> people = split.persons();
        assertEquals(2, people.size());
        assertEquals(new Box(50, 5, 40, 50), people.get(0).bbox());
        assertEquals(2000, people.get(0).pixels());
        assertEquals(List.of(new Person.ClassPixels(3, 2000)), people.get(0).classes());
        assertEquals(List.of(new Person.ClassPixels(2, 800), new Person.ClassPixels(11, 200)), people.get(1).classes());
        for (Person person : people) {
            assertArrayEquals(LabelRunsTest.expected(split.map(), person.id()),
                    CocoMasks.decode(person.rle().counts(), H, W));
        }
    }

    @Test
    void smallIslandsJoinTheNearestPersonSoEveryForegroundPixelHasOne() {
        byte[] map = new byte[W * H];
        fill(map, 5, 5, 20, 50, 2);
        fill(map, 50, 5, 40, 50, 3);
        fill(map, 28, 20, 2, 2, 14);  // a hand 3 pixels from the left person, 20 from the right one
        fill(map, 93, 58, 1, 1, 5);   // a speck beside the right one
        Persons.Split split = Persons.split(map, W, H, 28, 0.002, 1_000_000);
        assertEquals(2, split.persons().size(), "12 and 1 pixels are below 0.2 % of 6,000");
        assertEquals(2, split.map()[20 * W + 28], "the hand is the left person's (id 2: the smaller)");
        assertEquals(1, split.map()[58 * W + 93]);
        long people = split.persons().stream().mapToLong(Person::pixels).sum();
        long foreground = 0;
        for (int p = 0; p < map.length; p++) {
            foreground += map[p] != 0 ? 1 : 0;
            assertEquals(map[p] != 0, split.map()[p] != 0, "pixel " + p);
        }
        assertEquals(foreground, people);
        assertTrue(split.persons().get(1).classes().contains(new Person.ClassPixels(14, 4)));
    }

    @Test
    void theLargestPartIsAPersonEvenWhenSmallAndNoForegroundIsNoPerson() {
        byte[] map = new byte[W * H];
        fill(map, 10, 10, 3, 3, 1);
        fill(map, 50, 10, 2, 2, 1);
        List<Person> people = Persons.split(map, W, H, 28, 0.5, 1_000_000).persons();
        assertEquals(1, people.size());
        assertEquals(13, people.get(0).pixels(), "the smaller part joined the only person");
        assertEquals(List.of(), Persons.split(new byte[W * H], W, H, 28, 0.002, 1_000_000).persons());
    }

    private static void fill(byte[] map, int x0, int y0, int w, int h, int label) {
        for (int y = y0; y < y0 + h; y++) {
            for (int x = x0; x < x0 + w; x++) {
                map[y * W + x] = (byte) label;
            }
        }
    }
}
