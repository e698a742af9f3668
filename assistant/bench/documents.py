"""A small folder of realistic documents (trip notes, a manual, a recipe, meeting notes) for
benchmarks that run a chat through retrieval: real prose, so that what the embedder finds and
what the model reads look like what a user's folder gives them."""

from __future__ import annotations

from pathlib import Path

DOCUMENTS: dict[str, str] = {
    "portugal-trip.md": """# Portugal in May: trip notes

## Lisbon
Lisbon is built on seven hills above the Tagus estuary. The old districts of Alfama and Mouraria
keep their narrow lanes, tiled facades and small grocery shops; tram 28 climbs through them from
Martim Moniz to Prazeres, but it is crowded from ten in the morning, so ride it early or walk.
The Time Out Market at Cais do Sodré is convenient for a first dinner, while the tascas around
Graça serve grilled sardines, caldo verde and bifanas at a fraction of the price. Plan three
full days: one for Alfama and the castle, one for Belém (the monastery, the tower and the custard
tarts at the old bakery), and one for the museums, the Gulbenkian first among them.

## Porto
Porto is smaller and steeper than Lisbon, and most visitors find it friendlier. The Ribeira
waterfront, the Livraria Lello bookshop and the São Bento station hall with its blue azulejo
panels are all within a twenty-minute walk. Cross the Dom Luís I bridge on the upper deck to
Vila Nova de Gaia for the port wine lodges; most offer a tour with a tasting for 15 to 25 euros.
Two days are enough for the city, three if you add a boat trip up the Douro valley.

## Coimbra and Évora
Coimbra sits halfway between Lisbon and Porto and has one of the oldest universities in Europe;
the baroque Joanina library is the highlight and tickets sell out by midday. Évora, in the
Alentejo, is a walled town with a Roman temple, a chapel lined with bones and excellent regional
cooking: try the black pork and the sheep's cheese. Either makes a good one-night stop.
""",
    "trains-in-portugal.md": """# Getting around Portugal by train

Comboios de Portugal (CP) runs almost every passenger train in the country. The fastest link is
the Alfa Pendular between Lisbon Santa Apolónia and Porto Campanhã: about 2 hours 50 minutes,
with tickets from 25 euros in tourist class when booked a few days ahead, and 30 to 35 euros on
the day. The Intercidades trains on the same line take about twenty minutes longer and cost a
little less. Seats are assigned; buy online or at the machines and keep the QR code on your phone.

Urban trains are cheaper and need no reservation. From Lisbon Rossio, trains to Sintra leave
every twenty minutes and take forty minutes; a single ticket costs 2.40 euros with the
rechargeable Navegante card, which also works on the metro and on the Cascais line from Cais do
Sodré. From Porto São Bento, regional trains run up the Douro valley to Régua and Pinhão in about
two hours and a half; sit on the right-hand side for the river view.

Strikes happen a few times a year and are announced on the CP website a week ahead. Buses
(Rede Expressos, FlixBus) fill the gaps, notably to the Algarve and to Évora on weekends.
""",
    "packing-list.md": """# Packing for a spring trip to Portugal

The weather in May is mild but changeable. Lisbon averages 22 °C in the afternoon and 14 °C at
night; Porto is three or four degrees cooler and wetter, with rain on about one day in four.
The Atlantic wind makes evenings by the sea feel cold, so pack layers rather than a heavy coat.

- a light waterproof jacket with a hood (umbrellas turn inside out on the Porto bridges);
- a warm sweater or fleece for the evenings;
- comfortable walking shoes with a good grip: the limestone pavements (calçada) are slippery
  when wet and the streets are steep;
- sun cream and sunglasses: the sun is strong from late morning even when the air is cool;
- a swimsuit if you plan a day on the beaches of Cascais or the Algarve, although the sea stays
  at about 17 °C;
- a plug adapter of type F (two round pins, 230 V);
- a small day bag, and a copy of your travel insurance.

Pharmacies (farmácias, green cross signs) are everywhere and pharmacists speak English.
""",
    "espresso-machine-manual.md": """# Home espresso machine: user guide

## Daily use
Fill the water tank with fresh cold water up to the MAX line. Switch the machine on and wait
until the ready light stops blinking: the boiler needs about four minutes to reach brewing
temperature. Use 16 to 18 grams of finely ground coffee for a double shot, tamp it evenly and
brew for 25 to 30 seconds. If the shot runs faster, grind finer; if slower, grind coarser.

## Cleaning and descaling
Rinse the portafilter and shower screen after each use. Once a week, backflush with the blind
basket and a cleaning tablet. Descale every two months with hard water, every four with soft
water: dissolve the descaling agent in one litre of water, run it through the group and the
steam wand, then rinse twice with clean water.

## Error codes
- E01: the water tank is empty or not seated properly. Refill it and push it down until it clicks.
- E02: the boiler did not heat within ten minutes. Switch off, wait thirty minutes and try again;
  if it comes back, contact service.
- E03: the pump runs dry. Check that the intake tube reaches the bottom of the tank.
- E04: scale is blocking the flow. Descale the machine as described above.
- E05: temperature sensor fault. Unplug the machine for one minute; if the code persists, the
  sensor must be replaced by an authorised service centre.
""",
    "sourdough-recipe.md": """# Weekend sourdough loaf

Ingredients for one loaf: 100 g active starter, 350 g water at about 28 °C, 450 g strong white
flour, 50 g wholemeal flour and 10 g salt.

Mix the starter into the water, add both flours and stir until no dry flour remains. Leave it for
forty minutes (the autolyse), then add the salt with a splash of water and squeeze it through the
dough. Over the next two hours, give the dough four sets of stretch and folds, thirty minutes
apart. Let it rise until it has grown by about half and feels airy: four to six hours at room
temperature, depending on the starter and the kitchen.

Shape the dough into a tight ball, place it seam-side up in a floured basket and leave it in the
fridge overnight, twelve to sixteen hours. The next morning, heat the oven with a cast-iron pot
inside to 250 °C for forty-five minutes. Turn the dough onto baking paper, score it with a razor,
lower it into the pot and bake with the lid on for twenty minutes, then without the lid at 230 °C
for another twenty to twenty-five minutes, until the crust is deep brown. Let it cool for an hour
before cutting, or the crumb will be gummy.
""",
    "team-meeting-notes.md": """# Product team meeting, 14 March

Present: Ana (product), Bruno (backend), Carla (design), David (support).

## Release planning
The spring release moves from 2 April to 9 April: the export feature needs one more week of
testing after the database migration found duplicate invoices in two customer accounts. Bruno
will write a script that detects duplicates before the migration runs, and support will contact
the two customers this week.

## Customer feedback
Support received 42 tickets in February, a third of them about the password reset email arriving
late. The email provider throttles messages above 100 a minute; Bruno proposes a queue with
retries, estimated at three days of work. Carla showed two mock-ups for the new onboarding
screens; the team preferred the shorter version with three steps.

## Action items
- Bruno: duplicate-detection script by 20 March; email queue after the release.
- Carla: final onboarding designs by 22 March.
- David: reply to the two affected customers by Friday.
- Ana: update the public roadmap and the release notes.
""",
}

MEMORIES = [
    "I prefer trains to planes for travel within a country.",
    "I am vegetarian.",
    "My name is Sam and I live in Manchester.",
]

QUESTIONS = [
    "I am planning a trip to Portugal in May. Which cities should I visit first?",
    "How long does the fast train from Lisbon to Porto take, and what does it cost?",
    "What should I pack for the weather there in May?",
    "Can you suggest a day trip from Lisbon by train, with the cost in euros?",
    "What do the error codes E01 and E04 on my espresso machine mean?",
    "How long should the sourdough rise before it goes into the fridge?",
    "When was the spring release moved to, and why?",
    "What is special about Coimbra?",
    "How do I descale the espresso machine?",
    "Which seat should I take on the train up the Douro valley?",
    "How hot should the oven be for the sourdough?",
    "Who is writing the duplicate-detection script, and by when?",
]


def write_documents(folder: Path) -> list[Path]:
    """Write the documents into ``folder`` and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in DOCUMENTS.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
