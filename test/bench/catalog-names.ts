import type { OfferSpec, ProducerSpec } from '../support/shop-fixture.js';

/*
 * A realistic catalog for the benchmark: producers of a French short-circuit coop with the
 * products they usually sell. Category indexes follow DEFAULT_CATEGORIES in src/domain/coop.ts
 * (0 vegetables, 1 fruit, 2 dairy, 3 eggs, 4 meat, 5 poultry, 6 fish, 7 bread, 8 pantry,
 * 9 honey and jams, 10 drinks, 11 plants, 12 household).
 */

interface Kind {
  farm: string[];
  category: number;
  products: string[];
  unit: OfferSpec['unit'];
  weighed?: boolean;
  grams?: number;
  price: [number, number];
  vatRateBp: number;
}

const KINDS: Kind[] = [
  {
    farm: ['Ferme', 'Jardins', 'Potager', 'GAEC'],
    category: 0,
    products: ['Carottes', 'Poireaux', 'Pommes de terre', 'Courge butternut', 'Potimarron', 'Betteraves', 'Radis', 'Salade batavia', 'Épinards', 'Blettes', 'Oignons jaunes', 'Échalotes', 'Ail', 'Navets', 'Céleri-rave', 'Panais', 'Chou kale', 'Mâche', 'Tomates anciennes', 'Courgettes'],
    unit: 'kg',
    price: [180, 520],
    vatRateBp: 550,
  },
  {
    farm: ['Vergers', 'Domaine', 'Ferme fruitière'],
    category: 1,
    products: ['Pommes reinette', 'Poires conférence', 'Pommes golden', 'Kiwis', 'Coings', 'Prunes', 'Cerises', 'Abricots', 'Pêches de vigne', 'Fraises', 'Framboises', 'Myrtilles', 'Cassis', 'Groseilles', 'Rhubarbe', 'Noix', 'Châtaignes', 'Figues', 'Raisin chasselas', 'Melon'],
    unit: 'kg',
    price: [250, 900],
    vatRateBp: 550,
  },
  {
    farm: ['Fromagerie', 'Chèvrerie', 'Laiterie'],
    category: 2,
    products: ['Tomme de montagne', 'Crottin de chèvre', 'Fromage blanc', 'Yaourt nature', 'Yaourt à la vanille', 'Beurre doux', 'Crème fraîche', 'Lait cru entier', 'Faisselle', 'Bleu fermier', 'Raclette', 'Comté 18 mois', 'Reblochon', 'Saint-Marcellin', 'Brousse', 'Riz au lait', 'Petit-suisse', 'Kéfir', 'Tome de brebis', 'Ricotta'],
    unit: 'piece',
    weighed: true,
    grams: 350,
    price: [1200, 3200],
    vatRateBp: 550,
  },
  {
    farm: ['Élevage', 'Ferme', 'Bergerie'],
    category: 4,
    products: ["Côtes d'agneau", 'Gigot', 'Merguez', 'Saucisses de Toulouse', 'Rôti de porc', 'Filet mignon', 'Bœuf bourguignon', 'Steak haché', 'Entrecôte', 'Pot-au-feu', 'Jambon blanc', 'Pâté de campagne', 'Rillettes', 'Boudin noir', 'Saucisson sec', 'Lardons fumés', 'Osso buco', 'Blanquette de veau', 'Côte de bœuf', 'Chipolatas'],
    unit: 'piece',
    weighed: true,
    grams: 600,
    price: [1400, 4200],
    vatRateBp: 550,
  },
  {
    farm: ['Boulangerie', 'Fournil', 'Moulin'],
    category: 7,
    products: ['Pain de campagne', 'Pain complet', 'Baguette tradition', 'Pain aux graines', 'Pain de seigle', 'Brioche', 'Fougasse aux olives', 'Pain au petit épeautre', 'Pain aux noix', 'Miche de 1 kg', 'Pain de mie', 'Croissants x4', 'Pains au chocolat x4', 'Farine T80', 'Farine de sarrasin', 'Sablés', 'Cake au citron', 'Tarte aux pommes', 'Pain d’épices', 'Gâteau de Savoie'],
    unit: 'piece',
    price: [220, 1400],
    vatRateBp: 550,
  },
  {
    farm: ['Rucher', 'Miellerie', 'Confiturerie'],
    category: 9,
    products: ['Miel de fleurs', 'Miel d’acacia', 'Miel de châtaignier', 'Miel de lavande', 'Miel de sapin', 'Pollen', 'Propolis', 'Confiture de fraises', 'Confiture d’abricots', 'Gelée de coings', 'Marmelade d’oranges', 'Pâte à tartiner', 'Nougat', 'Pain d’épices au miel', 'Bonbons au miel', 'Hydromel', 'Bougie en cire', 'Confiture de myrtilles', 'Compote de pommes', 'Sirop de sureau'],
    unit: 'jar',
    price: [450, 1300],
    vatRateBp: 550,
  },
  {
    farm: ['Domaine', 'Cave', 'Brasserie'],
    category: 10,
    products: ['Jus de pomme', 'Jus de raisin', 'Cidre brut', 'Poiré', 'Bière blonde', 'Bière ambrée', 'Bière blanche', 'Vin rouge', 'Vin blanc', 'Rosé', 'Limonade', 'Sirop de menthe', 'Kombucha', 'Nectar d’abricot', 'Vinaigre de cidre', 'Crémant', 'Pétillant de pomme', 'Sirop de cassis', 'Jus de poire', 'Tisane'],
    unit: 'bottle',
    price: [350, 1600],
    vatRateBp: 2000,
  },
  {
    farm: ['Poulailler', 'Ferme avicole'],
    category: 5,
    products: ['Poulet fermier', 'Pintade', 'Canard', 'Cuisses de poulet', 'Filets de poulet', 'Ailes de poulet', 'Magret de canard', 'Confit de canard', 'Œufs x6', 'Œufs x12', 'Dinde', 'Foies de volaille', 'Chapon', 'Caille', 'Rillettes de canard', 'Pâté de volaille', 'Oie', 'Saucisses de volaille', 'Poule au pot', 'Bouillon de volaille'],
    unit: 'piece',
    weighed: true,
    grams: 1600,
    price: [900, 2400],
    vatRateBp: 550,
  },
];

const PLACES = ['des Grands Champs', 'du Vieux Moulin', 'de la Source', 'des Trois Chênes', 'du Pré Vert', 'de Bellevue', 'des Collines', 'du Ruisseau', 'de la Combe', 'des Tilleuls', 'du Plateau', 'de Saint-Romain', 'des Pins', 'du Bois Joli', 'de la Vallée'];
const VARIANTS = ['bio', 'de saison', 'extra', 'fermier', 'AB', 'en vrac', 'nouvelle récolte', 'plein air', 'maison', 'local'];

/** A deterministic pseudo-random generator (mulberry32), so every run seeds the same catalog. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** `producers` producers of `perProducer` offers each, every offer with `stock` units. */
export function benchCatalog(producers: number, perProducer: number, stock: number): ProducerSpec[] {
  const rnd = prng(42);
  const specs: ProducerSpec[] = [];
  for (let p = 0; p < producers; p++) {
    const kind = KINDS[p % KINDS.length]!;
    const name = `${kind.farm[p % kind.farm.length]} ${PLACES[p % PLACES.length]}${p >= PLACES.length ? ' ' + (Math.floor(p / PLACES.length) + 1) : ''}`;
    const offers: OfferSpec[] = [];
    for (let i = 0; i < perProducer; i++) {
      const base = kind.products[i % kind.products.length]!;
      const variant = VARIANTS[Math.floor(rnd() * VARIANTS.length)]!;
      const priceCents = Math.round((kind.price[0] + rnd() * (kind.price[1] - kind.price[0])) / 10) * 10;
      offers.push({
        name: `${base} ${variant}`,
        category: kind.category,
        unit: kind.unit,
        priceCents,
        vatRateBp: kind.vatRateBp,
        available: stock,
        ...(kind.weighed ? { weighed: true, estimatedWeightGrams: Math.round(((kind.grams ?? 500) * (0.7 + rnd() * 0.6)) / 10) * 10 } : {}),
        maxPerOrder: rnd() < 0.1 ? 10 : null,
        description: `${base} ${variant}, produit par ${name}. Récolté ou préparé dans la semaine, sans intermédiaire.`,
      });
    }
    specs.push({ name, description: `${name} : producteur·rice partenaire de la coop depuis ${2010 + (p % 14)}.`, offers });
  }
  return specs;
}
