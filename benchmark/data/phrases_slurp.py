"""Templates for a SLURP-shaped synthetic corpus: 58 intents `f"{scenario}_{action}"` over
SLURP's 18 scenarios, each with several templates whose `{slot}`s are filled at random.

Intent names are real SLURP scenario/action pairs (e.g. "alarm_set", "iot_hue_lightoff",
"qa_currency"), so label strings match the SLURP loader's. Sentences are longer and more
varied than FSC's: dates, times, places, people, artists, foods, ... as in SLURP's
home-assistant prompts.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence

import numpy as np

from benchmark.data.slurp import slurp_label

# fmt: off
SLURP_SCENARIOS: tuple[str, ...] = (
    "alarm", "audio", "calendar", "cooking", "datetime", "email", "general", "iot", "lists",
    "music", "news", "play", "qa", "recommendation", "social", "takeaway", "transport", "weather",
)

SLOTS: Mapping[str, tuple[str, ...]] = {
    "time": (
        "six am", "half past six", "seven in the morning", "seven thirty", "eight o'clock",
        "nine fifteen", "ten pm", "noon", "midnight", "quarter to five", "five thirty pm",
        "eleven in the evening", "two in the afternoon", "four forty five",
    ),
    "date": (
        "today", "tomorrow", "on monday", "on tuesday", "next wednesday", "this friday",
        "on saturday morning", "next sunday", "on the fifth of june", "on march third",
        "the day after tomorrow", "next week", "on christmas eve", "this weekend",
    ),
    "day": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    "duration": ("ten minutes", "half an hour", "an hour", "two hours", "forty five minutes"),
    "city": (
        "london", "paris", "new york", "berlin", "tokyo", "madrid", "chicago", "boston",
        "sydney", "edinburgh", "rome", "toronto", "dublin", "san francisco", "mumbai",
    ),
    "place": (
        "the office", "the airport", "the train station", "the city centre", "my mom's house",
        "the gym", "the hospital", "the university", "the shopping mall", "the beach",
    ),
    "person": (
        "john", "sarah", "michael", "emma", "david", "olivia", "james", "sophia", "daniel",
        "mia", "robert", "grace", "my boss", "my sister", "my brother", "mom", "dad",
    ),
    "event": (
        "a meeting", "a dentist appointment", "lunch with friends", "a doctor's appointment",
        "a team call", "a birthday party", "yoga class", "a job interview", "dinner",
    ),
    "event_type": ("concerts", "comedy shows", "art exhibitions", "football matches", "festivals", "theatre plays"),
    "artist": (
        "the beatles", "taylor swift", "adele", "ed sheeran", "queen", "beyonce", "coldplay",
        "elvis presley", "madonna", "bob dylan", "the rolling stones", "drake", "shakira",
    ),
    "song": (
        "yesterday", "hey jude", "bohemian rhapsody", "shape of you", "hello", "imagine",
        "let it be", "yellow submarine", "rolling in the deep", "thriller",
    ),
    "genre": ("jazz", "rock", "classical music", "pop", "hip hop", "country music", "blues", "reggae", "techno"),
    "playlist": ("my workout playlist", "my chill playlist", "my favourites", "the party mix", "the morning playlist"),
    "radio": ("bbc radio one", "jazz fm", "classic fm", "the local news station", "radio four", "kiss fm"),
    "podcast": ("the daily", "serial", "this american life", "the history podcast", "science weekly", "freakonomics"),
    "audiobook": ("harry potter", "the hobbit", "pride and prejudice", "the great gatsby", "sherlock holmes", "moby dick"),
    "game": ("chess", "trivia", "twenty questions", "hangman", "a word game", "blackjack", "a quiz"),
    "food": (
        "pizza", "sushi", "a burger", "pad thai", "chicken curry", "lasagna", "tacos",
        "fried rice", "a salad", "pancakes", "spaghetti bolognese", "fish and chips", "noodles",
    ),
    "dish": ("lasagna", "pancakes", "chicken soup", "banana bread", "a chocolate cake", "risotto", "apple pie", "guacamole"),
    "restaurant": ("pizza hut", "the thai place", "mcdonalds", "the sushi bar", "dominos", "the indian restaurant", "subway"),
    "cuisine": ("italian", "chinese", "mexican", "indian", "japanese", "thai", "greek", "french"),
    "list": ("shopping", "to do", "grocery", "packing", "birthday", "work"),
    "item": ("milk", "eggs", "bread", "apples", "coffee", "toilet paper", "bananas", "cheese", "call the plumber", "buy a present"),
    "color": ("red", "blue", "green", "purple", "warm white", "yellow", "orange", "pink"),
    "room": ("living room", "kitchen", "bedroom", "bathroom", "hallway", "office", "dining room"),
    "device": ("the fan", "the heater", "the tv", "the coffee machine", "the kettle", "the socket", "the air purifier"),
    "coffee": ("an espresso", "a latte", "a cappuccino", "a black coffee", "a flat white", "an americano"),
    "topic": ("politics", "sports", "technology", "business", "science", "the economy", "the elections", "football", "the weather"),
    "news_source": ("the bbc", "cnn", "the guardian", "the new york times", "reuters", "sky news"),
    "currency": ("dollars", "euros", "pounds", "yen", "swiss francs", "canadian dollars", "rupees"),
    "company": ("apple", "google", "amazon", "microsoft", "tesla", "netflix", "ibm", "nike"),
    "number": ("twelve", "seventeen", "twenty five", "forty two", "one hundred", "three hundred", "eight", "fifty"),
    "word": ("serendipity", "ephemeral", "ubiquitous", "quantum", "photosynthesis", "melancholy", "algorithm", "nostalgia"),
    "fact_subject": (
        "the tallest mountain in the world", "the capital of australia", "the population of china",
        "the president of france", "the longest river in africa", "the speed of light",
        "the author of hamlet", "the height of the eiffel tower",
    ),
    "movie_genre": ("comedy", "horror", "action", "romantic", "science fiction", "documentary", "animated"),
    "social": ("facebook", "twitter", "instagram", "linkedin"),
    "complaint": ("my internet is down again", "the train was late", "the delivery never arrived", "my order was wrong"),
    "transport": ("train", "bus", "flight", "coach", "ferry"),
    "weather_word": ("rain", "snow", "sunshine", "a storm", "wind", "fog"),
    "clothing": ("an umbrella", "a jacket", "sunglasses", "a coat", "boots", "a scarf"),
    "person_famous": ("barack obama", "albert einstein", "taylor swift", "lionel messi", "shakespeare"),
    "timezone_city": ("london", "tokyo", "new york", "los angeles", "sydney", "dubai", "hong kong"),
}

# fmt: on

_T: dict[tuple[str, str], tuple[str, ...]] = {
    ("alarm", "set"): (
        "wake me up at {time} {date}",
        "set an alarm for {time}",
        "please set an alarm {date} at {time}",
        "i need an alarm at {time} so i am not late for {event}",
        "alarm at {time} {date} please",
        "can you make sure i'm awake by {time}",
    ),
    ("alarm", "query"): (
        "what alarms do i have set {date}",
        "is there an alarm for {time}",
        "which alarms are set {date}",
        "tell me when my next alarm goes off",
        "did i set an alarm {date}",
    ),
    ("alarm", "remove"): (
        "cancel my alarm for {time}",
        "delete the alarm {date}",
        "remove the {time} alarm",
        "turn off all my alarms {date}",
        "i don't need the alarm at {time} anymore",
    ),
    ("audio", "volume_up"): (
        "turn the volume up",
        "make it louder please i can barely hear it",
        "increase the speaker volume",
        "can you raise the volume a bit",
        "volume up by {number} percent",
    ),
    ("audio", "volume_down"): (
        "turn the volume down",
        "that's way too loud lower it",
        "decrease the speaker volume",
        "can you make it a little quieter",
        "volume down please the baby is sleeping",
    ),
    ("audio", "volume_mute"): (
        "mute the speakers",
        "silence please",
        "turn the sound off completely",
        "mute yourself for {duration}",
        "be quiet for a while",
    ),
    ("calendar", "set"): (
        "add {event} to my calendar {date} at {time}",
        "schedule {event} with {person} {date}",
        "remind me about {event} {date}",
        "put {event} in my diary for {time} {date}",
        "create an event called {event} {date}",
        "book {event} with {person} at {time}",
    ),
    ("calendar", "query"): (
        "what's on my calendar {date}",
        "do i have any meetings {date}",
        "when is my next meeting with {person}",
        "am i free {date} at {time}",
        "what does my schedule look like {date}",
    ),
    ("calendar", "remove"): (
        "cancel {event} {date}",
        "delete my meeting with {person}",
        "remove everything from my calendar {date}",
        "clear my schedule {date}",
        "take {event} off my calendar",
    ),
    ("cooking", "recipe"): (
        "how do i make {dish}",
        "give me a recipe for {dish}",
        "what ingredients do i need for {dish}",
        "find me an easy {cuisine} recipe",
        "tell me how to cook {dish} step by step",
        "what can i cook with {item} and {item2}",
    ),
    ("cooking", "query"): (
        "how long should i bake {dish} for",
        "at what temperature do i cook {dish}",
        "how many minutes do i boil an egg",
        "is {dish} difficult to cook",
        "how long does {dish} take to prepare",
    ),
    ("datetime", "query"): (
        "what time is it",
        "what's the date {date}",
        "what day of the week is it",
        "what time is it in {timezone_city}",
        "what date is next {day}",
        "how many days until {day}",
    ),
    ("datetime", "convert"): (
        "what is {time} in {timezone_city} time",
        "convert {time} london time to {timezone_city} time",
        "if it's {time} here what time is it in {timezone_city}",
        "what's the time difference between {city} and {timezone_city}",
        "change {time} to {timezone_city} time",
    ),
    ("email", "sendemail"): (
        "send an email to {person} about {event}",
        "email {person} that i will be late",
        "write an email to {person} saying thank you",
        "reply to {person}'s email and say i agree",
        "send a message to {person} about the meeting {date}",
    ),
    ("email", "query"): (
        "do i have any new emails",
        "check my inbox",
        "did {person} send me an email {date}",
        "read my latest emails",
        "are there any unread messages from {person}",
    ),
    ("email", "addcontact"): (
        "add {person} to my contacts",
        "save this email address for {person}",
        "create a new contact called {person}",
        "put {person}'s email in my address book",
        "add a new contact for {person} from work",
    ),
    ("email", "querycontact"): (
        "what is {person}'s email address",
        "do i have a phone number for {person}",
        "when is {person}'s birthday",
        "find {person} in my contacts",
        "what's the address of {person}",
    ),
    ("general", "joke"): (
        "tell me a joke",
        "make me laugh",
        "do you know any good jokes about {topic}",
        "tell me something funny",
        "i need a joke for my speech {date}",
    ),
    ("general", "greet"): (
        "hello how are you",
        "good morning",
        "hi there how is your day going",
        "hey nice to meet you",
        "good evening my friend",
    ),
    ("general", "repeat"): (
        "can you repeat that",
        "say that again please",
        "what did you just say",
        "repeat the last answer",
        "sorry i didn't catch that",
    ),
    ("iot", "hue_lighton"): (
        "turn on the lights in the {room}",
        "switch the {room} lights on",
        "lights on in the {room} please",
        "can you turn the lamp on in the {room}",
        "put the lights on i can't see anything",
    ),
    ("iot", "hue_lightoff"): (
        "turn off the lights in the {room}",
        "switch off the {room} lights",
        "lights off please",
        "shut down all the lights in the house",
        "turn the {room} lamp off",
    ),
    ("iot", "hue_lightdim"): (
        "dim the lights in the {room}",
        "make the lights a little darker",
        "lower the brightness in the {room}",
        "set the lights to {number} percent",
        "the lights are too bright please dim them",
    ),
    ("iot", "hue_lightup"): (
        "brighten the lights in the {room}",
        "make the {room} brighter",
        "increase the brightness of the lights",
        "turn the lights up to full",
        "it's too dark make the lights brighter",
    ),
    ("iot", "hue_lightchange"): (
        "change the lights to {color}",
        "make the {room} lights {color}",
        "set the lamp colour to {color}",
        "i want {color} lights in the {room}",
        "switch the light colour to {color} please",
    ),
    ("iot", "cleaning"): (
        "start the vacuum cleaner",
        "clean the {room}",
        "turn on the robot vacuum",
        "vacuum the {room} {date}",
        "start cleaning the house while i'm away",
    ),
    ("iot", "coffee"): (
        "make me {coffee}",
        "i'd like {coffee} please",
        "start the coffee machine",
        "brew some coffee at {time}",
        "can you make {coffee} with extra milk",
    ),
    ("iot", "wemo_on"): (
        "turn on {device}",
        "switch {device} on",
        "power on {device} in the {room}",
        "start {device} please",
        "plug on {device}",
    ),
    ("iot", "wemo_off"): (
        "turn off {device}",
        "switch {device} off",
        "power down {device} in the {room}",
        "shut off {device} please",
        "plug off {device}",
    ),
    ("lists", "createoradd"): (
        "add {item} to my {list} list",
        "put {item} on the {list} list",
        "create a new {list} list",
        "make a {list} list with {item} and {item2}",
        "i need to remember to buy {item} add it to the list",
    ),
    ("lists", "query"): (
        "what's on my {list} list",
        "read me my {list} list",
        "do i have {item} on my {list} list",
        "how many items are on the {list} list",
        "what lists do i have",
    ),
    ("lists", "remove"): (
        "remove {item} from my {list} list",
        "delete the {list} list",
        "take {item} off the list",
        "clear my {list} list",
        "cross {item} off my {list} list",
    ),
    ("music", "likeness"): (
        "i love this song",
        "i really like {artist}",
        "remember that i like {genre}",
        "this is my favourite song by {artist}",
        "save this song i like it",
    ),
    ("music", "query"): (
        "what song is this",
        "who sings this song",
        "what's the name of this track",
        "which album is {song} from",
        "who is the artist playing right now",
    ),
    ("music", "settings"): (
        "shuffle my music",
        "turn on repeat",
        "play the songs in random order",
        "repeat this song",
        "turn off shuffle mode",
    ),
    ("news", "query"): (
        "what's the latest news",
        "tell me the news about {topic}",
        "what are the headlines on {news_source} {date}",
        "any news about {topic} in {city}",
        "give me the top stories {date}",
        "what happened in {city} {date}",
    ),
    ("play", "music"): (
        "play some {genre}",
        "play {song} by {artist}",
        "i want to listen to {artist}",
        "put on {playlist}",
        "play the latest album by {artist}",
        "play some music to help me relax",
    ),
    ("play", "radio"): (
        "play {radio}",
        "turn on the radio",
        "tune in to {radio}",
        "put the radio on {radio}",
        "i want to listen to the radio",
    ),
    ("play", "podcasts"): (
        "play the latest episode of {podcast}",
        "resume my podcast",
        "play {podcast}",
        "find a podcast about {topic}",
        "play the next episode of {podcast}",
    ),
    ("play", "audiobook"): (
        "continue reading {audiobook}",
        "play the audiobook {audiobook}",
        "resume my audiobook",
        "read me {audiobook} from chapter {number}",
        "start the audiobook where i left off",
    ),
    ("play", "game"): (
        "let's play {game}",
        "i want to play {game}",
        "start a game of {game}",
        "can we play a game",
        "play {game} with me",
    ),
    ("qa", "factoid"): (
        "what is {fact_subject}",
        "who is {person_famous}",
        "tell me {fact_subject}",
        "how old is {person_famous}",
        "do you know {fact_subject}",
    ),
    ("qa", "definition"): (
        "what does {word} mean",
        "define {word}",
        "what is the meaning of the word {word}",
        "give me the definition of {word}",
        "how do you spell {word}",
    ),
    ("qa", "maths"): (
        "what is {number} times {number2}",
        "what's {number} plus {number2}",
        "calculate {number} divided by {number2}",
        "what is the square root of {number}",
        "how much is {number} minus {number2}",
    ),
    ("qa", "currency"): (
        "how many {currency} is {number} {currency2}",
        "what's the exchange rate between {currency} and {currency2}",
        "convert {number} {currency} to {currency2}",
        "how much is a {currency2} worth in {currency}",
        "what is the {currency} exchange rate {date}",
    ),
    ("qa", "stock"): (
        "what is the stock price of {company}",
        "how are {company} shares doing {date}",
        "did {company} stock go up",
        "tell me the share price of {company}",
        "how is the stock market doing",
    ),
    ("recommendation", "events"): (
        "are there any {event_type} in {city} {date}",
        "what's happening in town this weekend",
        "recommend some {event_type} near me",
        "find me something fun to do {date}",
        "what events are on in {city} {date}",
    ),
    ("recommendation", "locations"): (
        "recommend a good {cuisine} restaurant",
        "where is the nearest coffee shop",
        "find a nice place to eat near {place}",
        "what's the best bar in {city}",
        "suggest a park near {place}",
    ),
    ("recommendation", "movies"): (
        "recommend a good {movie_genre} movie",
        "what movie should i watch {date}",
        "suggest a film for a family night",
        "what are the best {movie_genre} films this year",
        "is there a good movie on tv {date}",
    ),
    ("social", "post"): (
        "post on {social} that i'm in {city}",
        "tweet that {complaint}",
        "update my {social} status to happy {day}",
        "complain to the company on {social} that {complaint}",
        "share this photo on {social}",
    ),
    ("social", "query"): (
        "what's new on {social}",
        "any updates from {person} on {social}",
        "check my {social} notifications",
        "did anyone comment on my {social} post",
        "what are my friends posting on {social}",
    ),
    ("takeaway", "order"): (
        "order {food} from {restaurant}",
        "i want to order a takeaway",
        "get me {food} delivered for {time}",
        "can you order {food} and {food2} for dinner",
        "order my usual from {restaurant}",
    ),
    ("takeaway", "query"): (
        "does {restaurant} deliver",
        "what's the status of my food order",
        "how long until my {food} arrives",
        "is {restaurant} open {date}",
        "does {restaurant} do takeaway",
    ),
    ("transport", "ticket"): (
        "book a {transport} ticket to {city} {date}",
        "buy me a {transport} ticket from {city} to {city2}",
        "i need two tickets to {city} for {day}",
        "reserve a seat on the {time} {transport} to {city}",
        "get me a return ticket to {city}",
    ),
    ("transport", "taxi"): (
        "call me a taxi",
        "book a cab to {place} at {time}",
        "get me an uber to {place}",
        "i need a taxi to {place} {date}",
        "order a taxi for {time}",
    ),
    ("transport", "query"): (
        "when is the next {transport} to {city}",
        "how long does it take to get to {place}",
        "what time does the {transport} from {city} arrive",
        "is the {time} {transport} to {city} on time",
        "how do i get to {place} by {transport}",
    ),
    ("transport", "traffic"): (
        "how is the traffic on the way to {place}",
        "is there a traffic jam on the motorway",
        "are the roads busy this morning",
        "what's the traffic like in {city} right now",
        "will i hit traffic driving to {place} at {time}",
    ),
    ("weather", "query"): (
        "what's the weather like {date}",
        "will it rain in {city} {date}",
        "do i need {clothing} {date}",
        "what's the temperature in {city}",
        "is there going to be {weather_word} {date}",
        "how hot will it be in {city} {date}",
    ),
}


def _slot_values(name: str) -> tuple[str, ...]:
    if name in SLOTS:
        return SLOTS[name]
    base = name.rstrip("0123456789")
    if base in SLOTS:
        return SLOTS[base]
    raise KeyError(f"unknown slot {{{name}}}")


def template_slots(template: str) -> tuple[str, ...]:
    """The `{slot}` names a template uses, in order."""
    return tuple(f[1] for f in string.Formatter().parse(template) if f[1] is not None)


def fill_template(template: str, rng: np.random.Generator) -> str:
    """Fill every `{slot}` with a random value; `{x2}` differs from `{x}` when possible."""
    chosen: dict[str, str] = {}
    for name in template_slots(template):
        if name in chosen:
            continue
        values: Sequence[str] = _slot_values(name)
        base = name.rstrip("0123456789")
        taken = {v for k, v in chosen.items() if k.rstrip("0123456789") == base}
        pool = [v for v in values if v not in taken] or list(values)
        chosen[name] = pool[int(rng.integers(len(pool)))]
    return template.format(**chosen)


SLURP_TEMPLATES: Mapping[str, tuple[str, ...]] = {
    slurp_label(s, a): t for (s, a), t in sorted(_T.items(), key=lambda kv: slurp_label(*kv[0]))
}
SLURP_INTENTS: tuple[str, ...] = tuple(sorted(SLURP_TEMPLATES))  # 58 labels
